// pack-images: the images of a CUB-200-2011 or Oxford-102 dataset folder as a tensor stream.
#include <fmt/format.h>


#include "cli.h"
#include "error.h"
#include "image.h"
#include "loaders/dataset.h"
#include "log.h"
#include "parallel.h"
#include "progress.h"
#include "stream.h"

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "pack-images",
      .purpose = "pack the images of a CUB-200-2011 or Oxford-102 dataset folder into a stream of uint8 [3,S,S] arrays keyed by image",
      .usage = "pack-images [options] <dataset-dir> > <images-out>",
      .example = "pack-images data/birds --split trainval > images.t2i\n"
                 "pack-images data/CUB_200_2011 --crop bbox --crop-margin 0.15 --size 76 -o cub76.t2i",
      .see_also = "list-captions(1), check-dataset(1), png-to-tensor(1), tensor-info(1), t2i-stream(5)",
  });
  std::string out_path = "-", split_text = "all", crop_text = "none";
  int size = 76;
  float margin = 0;
  std::size_t limit = 0;
  cli.options().add_options()
      ("output,o", t2i::po::value(&out_path)->default_value(out_path), "output stream ('-': stdout)")
      ("split", t2i::po::value(&split_text)->default_value(split_text), "all, trainval or test (Reed's class lists), cub-train or cub-test (CUB's train_test_split.txt)")
      ("size", t2i::po::value(&size)->default_value(size), "squash every image to S x S by area averaging")
      ("crop", t2i::po::value(&crop_text)->default_value(crop_text), "none, or bbox: crop to the bounding box first (CUB)")
      ("crop-margin", t2i::po::value(&margin)->default_value(margin), "with --crop bbox: enlarge the box by F times its width and height on each side")
      ("limit", t2i::po::value(&limit)->default_value(limit), "only the first N images of the selection (0: all)");
  cli.add_threads_option();
  return cli.run(argc, argv, [&] {
    cli.expect_args(1, 1);
    t2i::data::Split split = t2i::data::parse_split(split_text);
    if (size < 1 || size > 4096) t2i::fail<t2i::UsageError>("--size {}: expected 1 to 4096", size);
    if (crop_text != "none" && crop_text != "bbox") t2i::fail<t2i::UsageError>("--crop '{}': expected none or bbox", crop_text);
    const bool use_bbox = crop_text == "bbox";
    if (!(margin >= 0 && margin <= 10)) t2i::fail<t2i::UsageError>("--crop-margin {}: expected 0 to 10", margin);
    if (cli.given("crop-margin") && !use_bbox) t2i::fail<t2i::UsageError>("--crop-margin needs --crop bbox");

    t2i::data::Dataset ds = t2i::data::load_dataset(cli.args()[0]);
    if (use_bbox && !ds.has_bboxes)
      t2i::fail<t2i::InputError>("{}: --crop bbox needs bounding_boxes.txt (CUB-200-2011)", ds.file("bounding_boxes.txt"));
    std::vector<std::size_t> selected = t2i::data::select_images(ds, split, limit);
    t2i::log::debug("{}: {} layout, {} images, {} selected", ds.root, t2i::data::layout_name(ds.layout), ds.images.size(),
                    selected.size());

    // Decode on every core, write in dataset order.
    t2i::StreamWriter writer(out_path);
    t2i::Progress progress("packing images", selected.size());
    t2i::ordered_parallel<t2i::Tensor>(
        selected.size(), 256,
        [&](std::size_t i) {
          const t2i::data::ImageEntry& e = ds.images[selected[i]];
          t2i::Image image = t2i::read_image(e.image_path);
          if (use_bbox)
            image = t2i::data::crop(image, t2i::data::crop_rect(*e.bbox, margin, image.width, image.height,
                                                                fmt::format("{} (image id {})", e.image_path, e.id)));
          image = t2i::convert_channels(image, 3);
          return t2i::image_to_tensor(t2i::resize_area(image, size, size));
        },
        [&](std::size_t i, t2i::Tensor t) {
          writer.write(ds.images[selected[i]].key, t);
          progress.add();
        });
    writer.close();
    progress.finish();
    t2i::log::info("wrote {} images ({} split{}, {}x{}) of {} to {}", writer.records(), split_text,
                   use_bbox ? ", cropped to bounding boxes" : "", size, size, ds.root, writer.name());
    return 0;
  });
}
