// encode-attributes: a dataset's per-image attribute labels (CUB's attributes.txt and
// attributes/image_attribute_labels.txt) as an embedding stream, float32 [A] of 0s and 1s per
// image in attribute-id order, keyed like encode-text's output. Fed to train-gan and generate in
// place of the caption embeddings it trains the attribute-conditioned generator: the same network
// told exactly what the bird looks like, the upper bound of what text conditioning can give at a
// budget (eval-images scores both against the same captions).
#include <string>
#include <vector>

#include "cli.h"
#include "error.h"
#include "loaders/dataset.h"
#include "log.h"
#include "stream.h"
#include "tensor.h"

int main(int argc, char** argv) {
  using namespace t2i;
  Cli cli({
      .name = "encode-attributes",
      .purpose = "write a dataset's per-image attribute labels as an embedding stream (the attribute-conditioned upper bound of text conditioning)",
      .usage = "encode-attributes [options] <dataset-dir> > <vectors.t2i>",
      .example = "encode-attributes data/birds --split trainval --mode each > attr-tr.t2i\n"
                 "train-gan --images tr.t2i --embeddings attr-tr.t2i -o gan-attr.st --variant int-cls\n"
                 "encode-attributes data/birds --split test | generate -m gan-attr.st -n 4 > samples.t2i\n"
                 "eval-images --captions te.tsv --judge judge.st --by-attribute samples.t2i",
      .see_also = "encode-text(1), train-gan(1), generate(1), eval-images(1), list-captions(1)",
  });
  std::string out_path = "-", split_text = "all", mode_text = "mean";
  std::size_t limit = 0;
  cli.options().add_options()
      ("output,o", po::value(&out_path)->default_value(out_path), "output stream ('-': stdout)")
      ("split", po::value(&split_text)->default_value(split_text), "all, trainval or test (Reed's class lists), cub-train or cub-test (CUB's train_test_split.txt)")
      ("limit", po::value(&limit)->default_value(limit), "only the first N images of the selection (0: all)")
      ("mode", po::value(&mode_text)->default_value(mode_text), "mean: one record an image, keyed by the image (as encode-text --mode mean); each: keyed '<image>/0' (as the first caption of encode-text --mode each), what train-gan reads");
  return cli.run(argc, argv, [&] {
    cli.expect_args(1, 1);
    if (mode_text != "mean" && mode_text != "each") fail<UsageError>("--mode '{}': expected mean or each", mode_text);
    const data::Split split = data::parse_split(split_text);
    const data::Dataset ds = data::load_dataset(cli.args()[0]);
    const data::AttributeTable table = data::read_attributes(ds);
    const std::vector<std::size_t> selected = data::select_images(ds, split, limit);
    const auto A = static_cast<std::int64_t>(table.names.size());
    if (A == 0) fail<InputError>("{}: no attributes", ds.file("attributes.txt"));

    StreamWriter writer(out_path);
    std::size_t unlabelled = 0;
    Tensor t(DType::kFloat32, Shape{A});
    for (std::size_t index : selected) {
      const std::vector<std::uint8_t>& present = table.present[index];
      auto v = t.span<float>();
      bool any = false;
      for (std::size_t a = 0; a < v.size(); ++a) {
        v[a] = present[a] ? 1.0f : 0.0f;
        any = any || present[a];
      }
      if (!any) ++unlabelled;
      const std::string& key = ds.images[index].key;
      writer.write(mode_text == "each" ? key + "/0" : key, t);
    }
    writer.close();
    if (unlabelled)
      log::warn("{} of {} images have no attribute present: their vectors are all zero", unlabelled, selected.size());
    log::info("wrote {} vectors of {} attributes ({} split) of {}", selected.size(), A, split_text, ds.root);
    return 0;
  });
}
