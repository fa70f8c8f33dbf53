// check-dataset: verifies a CUB-200-2011 or Oxford-102 dataset folder and reports its counts.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <set>

#include "cli.h"
#include "error.h"
#include "image.h"
#include "loaders/dataset.h"
#include "log.h"
#include "progress.h"

namespace {

// Problems of one kind are listed up to this many, then counted.
constexpr std::size_t kListed = 10;

struct Counted {
  std::vector<std::string>* problems;
  std::size_t count = 0;
  void add(std::string what) {
    if (count++ < kListed) problems->push_back(std::move(what));
  }
  void finish(const char* what) {
    if (count > kListed) problems->push_back(fmt::format("... {} {} in all", count, what));
  }
};

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "check-dataset",
      .purpose = "verify a CUB-200-2011 or Oxford-102 dataset folder (with Reed's captions) and report its counts",
      .usage = "check-dataset [options] <dataset-dir> > <report>",
      .example = "check-dataset data/CUB_200_2011 && pack-images data/CUB_200_2011 --split trainval > images.t2i\n"
                 "check-dataset data/flowers | grep '^images'",
      .see_also = "pack-images(1), list-captions(1)",
  });
  bool decode = false;
  cli.options().add_options()
      ("decode", t2i::po::bool_switch(&decode), "also decode every image file (slower; finds corrupt files)");
  cli.add_threads_option();
  return cli.run(argc, argv, [&] {
    namespace fs = std::filesystem;
    cli.expect_args(1, 1);
    std::vector<std::string> problems;
    t2i::data::Dataset ds = t2i::data::load_dataset(cli.args()[0], &problems);

    // Image files.
    Counted missing_files{&problems};
    std::vector<char> present(ds.images.size(), 0);
    for (std::size_t i = 0; i < ds.images.size(); ++i) {
      std::error_code ec;
      present[i] = fs::is_regular_file(ds.images[i].image_path, ec);
      if (!present[i]) missing_files.add(fmt::format("{}: missing image file (image '{}')", ds.images[i].image_path, ds.images[i].key));
    }
    missing_files.finish("image files missing");
    Counted bad_files{&problems};
    if (decode) {
      std::vector<std::string> errors(ds.images.size());
      t2i::Progress progress("decoding images", ds.images.size());
#pragma omp parallel for schedule(dynamic)
      for (std::size_t i = 0; i < ds.images.size(); ++i) {
        if (!present[i]) continue;
        try {
          t2i::read_image(ds.images[i].image_path);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
#pragma omp critical
        progress.add();
      }
      progress.finish();
      for (const std::string& e : errors)
        if (!e.empty()) bad_files.add(e);
      bad_files.finish("image files that do not decode");
    }

    // Captions.
    std::size_t captions = 0, ten = 0, fewer = 0, more = 0, none = 0;
    Counted no_captions{&problems};
    if (!ds.has_captions) {
      problems.push_back(fmt::format("{}: no text_c10/ folder: expected Reed's captions there", ds.root));
    } else {
      for (const auto& e : ds.images) {
        std::optional<std::vector<std::string>> list;
        try {
          list = t2i::data::read_captions(e, ds);
        } catch (const t2i::InputError& err) {
          no_captions.add(err.what());
          ++none;
          continue;
        }
        std::size_t n = list ? list->size() : 0;
        captions += n;
        if (n == 0) {
          ++none;
          no_captions.add(fmt::format("{}: {} (image '{}')", e.caption_path, list ? "no caption" : "missing caption file", e.key));
        } else if (n == 10) {
          ++ten;
        } else if (n < 10) {
          ++fewer;
        } else {
          ++more;
        }
      }
      no_captions.finish("images without captions");
    }
    if (ds.images.empty()) problems.push_back(fmt::format("{}: no images", ds.root));
    if (!ds.has_class_lists)
      t2i::log::warn("{}: no trainvalclasses.txt and testclasses.txt: --split trainval and test are not available", ds.root);
    if (fewer + more) t2i::log::warn("{} images have fewer than 10 captions, {} more", fewer, more);

    std::size_t trainval = 0, test = 0, unlisted = 0, cub_train = 0, cub_test = 0, boxes = 0;
    for (const auto& e : ds.images) {
      trainval += e.trainval;
      test += e.test;
      unlisted += !e.trainval && !e.test;
      cub_train += e.cub_train == 1;
      cub_test += e.cub_train == 0;
      boxes += e.bbox.has_value();
    }
    std::string report;
    auto line = [&](const char* name, auto value) { report += fmt::format("{}\t{}\n", name, value); };
    line("layout", t2i::data::layout_name(ds.layout));
    line("images", ds.images.size());
    line("image_files_missing", missing_files.count);
    if (decode) line("image_files_bad", bad_files.count);
    if (ds.layout == t2i::data::Layout::kOxford) line("images_unlabelled", ds.unlabelled_images);
    line("classes", ds.classes.size());
    {
      std::set<std::string> with_images;
      for (const auto& e : ds.images) with_images.insert(e.class_name);
      line("classes_with_images", with_images.size());
    }
    line("captions", captions);
    line("images_10_captions", ten);
    line("images_fewer_captions", fewer);
    line("images_more_captions", more);
    line("images_no_captions", none);
    line("class_lists", ds.has_class_lists ? "yes" : "no");
    line("trainval_classes", ds.trainval_classes.size());
    line("test_classes", ds.test_classes.size());
    line("trainval_images", trainval);
    line("test_images", test);
    line("unlisted_images", unlisted);
    if (ds.layout == t2i::data::Layout::kCub) {
      line("cub_split", ds.has_cub_split ? "yes" : "no");
      line("cub_train_images", cub_train);
      line("cub_test_images", cub_test);
      line("bounding_boxes", boxes);
    }
    std::fwrite(report.data(), 1, report.size(), stdout);
    if (std::fflush(stdout) != 0) t2i::fail<t2i::RuntimeError>("cannot write the report: {}", t2i::errno_text());

    for (const std::string& p : problems) t2i::log::error("{}", p);
    if (!problems.empty())
      t2i::fail<t2i::InputError>("{}: not usable: {} problem{} listed above", ds.root, problems.size(),
                                 problems.size() == 1 ? "" : "s");
    t2i::log::info("{}: usable {} dataset: {} images, {} classes, {} captions", ds.root,
                   t2i::data::layout_name(ds.layout), ds.images.size(), ds.classes.size(), captions);
    return 0;
  });
}
