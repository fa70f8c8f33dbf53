// list-captions: the captions of a CUB-200-2011 or Oxford-102 dataset folder, one a line.
#include <fmt/format.h>

#include "cli.h"
#include "error.h"
#include "file.h"
#include "loaders/dataset.h"
#include "log.h"

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "list-captions",
      .purpose = "list the captions of a CUB-200-2011 or Oxford-102 dataset folder as 'image-key<TAB>caption' lines",
      .usage = "list-captions [options] <dataset-dir> > <captions-out>",
      .example = "list-captions data/birds > captions.tsv\n"
                 "list-captions data/birds --split test --first | encode-text -m text.st > emb.t2i",
      .see_also = "pack-images(1), check-dataset(1), tensor-select(1)",
  });
  std::string out_path = "-", split_text = "all";
  std::size_t limit = 0;
  bool allow_missing = false, first = false;
  cli.options().add_options()
      ("output,o", t2i::po::value(&out_path)->default_value(out_path), "output file ('-': stdout)")
      ("split", t2i::po::value(&split_text)->default_value(split_text), "all, trainval or test (Reed's class lists), cub-train or cub-test (CUB's train_test_split.txt)")
      ("limit", t2i::po::value(&limit)->default_value(limit), "only the first N images of the selection (0: all)")
      ("first", t2i::po::bool_switch(&first), "only the first caption of each image")
      ("allow-missing", t2i::po::bool_switch(&allow_missing), "skip images without a caption file (or with no caption) and count them, instead of failing");
  return cli.run(argc, argv, [&] {
    cli.expect_args(1, 1);
    t2i::data::Split split = t2i::data::parse_split(split_text);
    t2i::data::Dataset ds = t2i::data::load_dataset(cli.args()[0]);
    if (!ds.has_captions && !allow_missing)
      t2i::fail<t2i::InputError>("{}: no text_c10/ folder: expected Reed's captions there (text_c10/<class>/<name>.txt)",
                                 ds.root);
    std::vector<std::size_t> selected = t2i::data::select_images(ds, split, limit);
    t2i::OutputFile out(out_path);
    std::size_t captions = 0, missing = 0;
    std::string text;
    for (std::size_t index : selected) {
      const t2i::data::ImageEntry& e = ds.images[index];
      auto list = t2i::data::read_captions(e, ds);
      if (!list || list->empty()) {
        if (!allow_missing)
          t2i::fail<t2i::InputError>("{}: {} for image '{}' (--allow-missing skips such images)", e.caption_path,
                                     list ? "no caption in the file" : "missing caption file", e.key);
        ++missing;
        continue;
      }
      text.clear();
      for (const std::string& c : *list) {
        text += e.key;
        text += '\t';
        text += c;
        text += '\n';
        ++captions;
        if (first) break;
      }
      out.write(text);
    }
    out.close();
    if (missing) t2i::log::warn("{} of {} images have no captions and were skipped", missing, selected.size());
    t2i::log::info("wrote {} captions of {} images ({} split) of {}", captions, selected.size() - missing, split_text,
                   ds.root);
    return 0;
  });
}
