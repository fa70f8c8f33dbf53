// make-birds: renders the synthetic bird dataset in the layout of CUB-200-2011 plus Reed et
// al.'s text_c10 captions.
#include <fmt/format.h>

#include "birds/birds.h"
#include "cli.h"
#include "error.h"
#include "log.h"

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "make-birds",
      .purpose = "render a synthetic bird dataset (200 species, ten captions per image) laid out as CUB-200-2011 with Reed's text_c10",
      .usage = "make-birds --out <dir> [--count N] [--size PX] [--seed S] [--threads T] [--force]",
      .example = "make-birds --out data/birds --count 2000 && pack-images data/birds > images.t2i\n"
                 "make-birds --out data/birds && png-to-tensor --size 76 data/birds/images > images.t2i",
      .see_also = "png-to-tensor(1), montage(1), pack-images(1), check-dataset(1)",
  });
  t2i::birds::DatasetOptions o;
  cli.options().add_options()
      ("out", t2i::po::value(&o.out), "output directory (created; must be empty unless --force)")
      ("count", t2i::po::value(&o.count)->default_value(o.count), "number of images (11788: the size of CUB-200-2011)")
      ("size", t2i::po::value(&o.size)->default_value(o.size), "side of the square images in pixels (16 to 1024)")
      ("seed", t2i::po::value(&o.seed)->default_value(o.seed), "seed of the images and captions (the species never change)")
      ("force", t2i::po::bool_switch(&o.force), "write into a non-empty --out, replacing the dataset files there");
  cli.add_threads_option();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 0);
    if (o.out.empty()) t2i::fail<t2i::UsageError>("--out is required");
    o.command = "make-birds";
    for (int i = 1; i < argc; ++i) o.command += std::string(" ") + argv[i];
    t2i::birds::DatasetSummary s = t2i::birds::write_dataset(o);
    t2i::log::info("wrote {} images of {} classes ({} training) at {}x{} to {} in {:.1f} s", s.images, s.classes,
                   s.train, o.size, o.size, o.out, s.seconds);
    return 0;
  });
}
