// Writes the synthetic birds in the layout of CUB-200-2011 plus Reed's text_c10 captions.
#include <fmt/format.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <sstream>

#include "birds/birds.h"
#include "error.h"
#include "file.h"
#include "log.h"
#include "progress.h"

namespace t2i::birds {
namespace {

namespace fs = std::filesystem;

// What make-birds writes under --out; with --force these (and only these) are removed first.
const char* const kOwnedPaths[] = {"images", "text_c10", "parts", "attributes", "README.txt", "images.txt",
                                   "classes.txt", "image_class_labels.txt", "train_test_split.txt",
                                   "bounding_boxes.txt", "attributes.txt", "allclasses.txt",
                                   "trainvalclasses.txt", "testclasses.txt", "background_rgb.txt", "style.txt"};

void write_text(const fs::path& path, const std::string& text) {
  AtomicFile f(path.string());
  f.write(text.data(), text.size());
  f.commit();
}

struct Result {
  double bx = 0, by = 0, bw = 0, bh = 0;
  std::array<Keypoint, kNumParts> parts;
  std::array<double, 3> background{};
  std::vector<bool> attributes;
  Style style;
};

// Words of s in lines of at most width characters (a longer word alone on its line).
std::string wrap(const std::string& s, std::size_t width) {
  std::string out, line, word;
  std::istringstream in(s);
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) out += line + "\n", line.clear();
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

std::string readme(const DatasetOptions& o, int images, int train) {
  return fmt::format(
      "Synthetic birds: a dataset rendered by make-birds (t2igan), NOT photographs.\n"
      "\n"
      "It is laid out as CUB-200-2011 (Wah et al., 2011) plus the text_c10 captions of Reed et\n"
      "al. (2016), so that tools made for those read it unchanged. The 200 species and their\n"
      "names are invented; they are the same for every seed. Each image is one bird drawn from\n"
      "shapes (body, head, crown, beak, eye, wing, tail, breast, belly, throat, legs) in its\n"
      "species' colours, with a random pose, background and lighting. The ten captions of an\n"
      "image name its content (part colours, beak, wing pattern, size, shape, tail, eye ring) and\n"
      "never its pose, position, background or lighting.\n"
      "\n"
      "Command: {}\n"
      "Seed: {}\nImages: {} ({} training, {} test in train_test_split.txt), {} x {} pixels\n"
      "Classes: {} ({} in trainvalclasses.txt, {} in testclasses.txt)\n"
      "\n"
      "Files: images/<class>/<name>.png, text_c10/<class>/<name>.txt (ten captions), images.txt,\n"
      "classes.txt, image_class_labels.txt, train_test_split.txt, bounding_boxes.txt,\n"
      "parts/parts.txt, parts/part_locs.txt, attributes.txt,\n"
      "attributes/image_attribute_labels.txt, allclasses.txt, trainvalclasses.txt,\n"
      "testclasses.txt, background_rgb.txt (mean RGB of the pixels the bird does not cover),\n"
      "style.txt (the drawn style, never captioned; columns: image id, then\n{}).\n"
      "See make-birds(1).\n",
      o.command.empty() ? "make-birds" : o.command, o.seed, images, train, images - train, o.size, o.size,
      kNumSpecies, kNumSpecies - kNumTestClasses, kNumTestClasses, wrap(style_header(), 90));
}

}  // namespace

const char* background_name(Background b) {
  switch (b) {
    case Background::kPlain: return "plain";
    case Background::kGradient: return "gradient";
    case Background::kHorizon: return "horizon";
  }
  return "?";
}

const char* style_header() {
  return "facing_right scale cx cy tilt head_turn background bg_top_r bg_top_g bg_top_b bg_bottom_r bg_bottom_g "
         "bg_bottom_b ground_r ground_g ground_b horizon_y branch branch_y branch_slope branch_width branch_r branch_g "
         "branch_b brightness contrast";
}

std::string style_line(int image_id, const Style& s) {
  auto rgb = [](const std::array<double, 3>& c) { return fmt::format("{:.2f} {:.2f} {:.2f}", c[0], c[1], c[2]); };
  return fmt::format("{} {} {:.4f} {:.2f} {:.2f} {:.4f} {:.4f} {} {} {} {} {:.2f} {} {:.2f} {:.4f} {:.2f} {} {:.2f} {:.4f}",
                     image_id, s.facing_right ? 1 : 0, s.scale, s.cx, s.cy, s.tilt, s.head_turn, background_name(s.background),
                     rgb(s.bg_top), rgb(s.bg_bottom), rgb(s.ground), s.horizon_y, s.branch ? 1 : 0, s.branch_y,
                     s.branch_slope, s.branch_width, rgb(s.branch_rgb), s.brightness, s.contrast);
}

std::vector<ImageEntry> plan_images(int count) {
  const auto& species = all_species();
  std::vector<ImageEntry> plan;
  int id = 1;
  for (int s = 0; s < kNumSpecies; ++s) {
    int n = count >= kNumSpecies ? count / kNumSpecies + (s < count % kNumSpecies ? 1 : 0) : (s < count ? 1 : 0);
    for (int i = 1; i <= n; ++i, ++id)
      plan.push_back({id, s + 1, i, fmt::format("{}/{}_{:04d}_{}", species[s].folder, species[s].name, i, id)});
  }
  return plan;
}

DatasetSummary write_dataset(const DatasetOptions& o) {
  auto start = std::chrono::steady_clock::now();
  if (o.count < 1) fail<UsageError>("--count {}: expected at least 1", o.count);
  if (o.size < 16 || o.size > 1024) fail<UsageError>("--size {}: expected 16 to 1024 pixels", o.size);
  if (o.out.empty()) fail<UsageError>("--out is required");
  const fs::path out(o.out);
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) fail<UsageError>("--out {}: exists and is not a directory", o.out);
    if (!fs::is_empty(out, ec)) {
      if (!o.force)
        fail<UsageError>("--out {} is not empty; refusing to write into it (use --force to replace the dataset files there)", o.out);
      for (const char* p : kOwnedPaths) {
        fs::remove_all(out / p, ec);
        if (ec) fail<RuntimeError>("{}: cannot remove: {}", (out / p).string(), ec.message());
      }
    }
  }
  const auto& species = all_species();
  try {
    for (const char* d : {"images", "text_c10"})
      for (const Species& s : species) fs::create_directories(out / d / s.folder);
    fs::create_directories(out / "parts");
    fs::create_directories(out / "attributes");
  } catch (const fs::filesystem_error& e) {
    fail<RuntimeError>("cannot create directories under {}: {}", o.out, e.code().message());
  }

  const std::vector<ImageEntry> plan = plan_images(o.count);
  const std::size_t n = plan.size();
  std::vector<Result> results(n);
  std::vector<std::exception_ptr> errors(n);
  Progress progress("rendering birds", n);
#pragma omp parallel for schedule(dynamic, 4)
  for (std::size_t i = 0; i < n; ++i) {
    try {
      const ImageEntry& e = plan[i];
      Rng rng(mix(o.seed, static_cast<std::uint64_t>(e.image_id)));
      RenderedBird bird = render_bird(species[e.species_id - 1], o.size, rng);
      std::vector<std::string> captions = make_captions(bird.attributes, rng);
      write_png(bird.image, (out / "images" / (e.path + ".png")).string());
      std::string text;
      for (const std::string& c : captions) text += c + "\n";
      write_text(out / "text_c10" / (e.path + ".txt"), text);
      Result& r = results[i];
      r.bx = bird.bx, r.by = bird.by, r.bw = bird.bw, r.bh = bird.bh;
      r.parts = bird.parts;
      r.background = bird.background_rgb;
      r.attributes = attribute_values(bird.attributes);
      r.style = bird.style;
    } catch (...) {
      errors[i] = std::current_exception();  // exceptions must not leave an OpenMP region
    }
#pragma omp critical(make_birds_progress)
    progress.add();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  progress.finish();

  // The index files, in image id order.
  std::string images, labels, split, boxes, locs, attrs, bg, style;
  const std::size_t n_attr = attribute_names().size();
  attrs.reserve(n * n_attr * 16);
  int train = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const ImageEntry& e = plan[i];
    const Result& r = results[i];
    const bool is_train = (e.index + e.species_id) % 2 == 0;  // about half of each class
    train += is_train;
    images += fmt::format("{} {}.png\n", e.image_id, e.path);
    labels += fmt::format("{} {}\n", e.image_id, e.species_id);
    split += fmt::format("{} {}\n", e.image_id, is_train ? 1 : 0);
    boxes += fmt::format("{} {:.1f} {:.1f} {:.1f} {:.1f}\n", e.image_id, r.bx, r.by, r.bw, r.bh);
    for (int p = 0; p < kNumParts; ++p) {
      const Keypoint& k = r.parts[p];
      locs += fmt::format("{} {} {:.1f} {:.1f} {}\n", e.image_id, p + 1, k.x, k.y, k.visible ? 1 : 0);
    }
    for (std::size_t a = 0; a < n_attr; ++a) attrs += fmt::format("{} {} {} 4 0\n", e.image_id, a + 1, r.attributes[a] ? 1 : 0);
    bg += fmt::format("{} {:.2f} {:.2f} {:.2f}\n", e.image_id, r.background[0], r.background[1], r.background[2]);
    style += style_line(e.image_id, r.style) + "\n";
  }
  std::string classes, all, trainval, test, parts, attr_names;
  for (const Species& s : species) {
    classes += fmt::format("{} {}\n", s.id, s.folder);
    all += s.folder + "\n";
    (is_test_class(s.id) ? test : trainval) += s.folder + "\n";
  }
  for (int p = 1; p <= kNumParts; ++p) parts += fmt::format("{} {}\n", p, part_name(p));
  for (std::size_t a = 0; a < n_attr; ++a) attr_names += fmt::format("{} {}\n", a + 1, attribute_names()[a]);

  write_text(out / "images.txt", images);
  write_text(out / "image_class_labels.txt", labels);
  write_text(out / "train_test_split.txt", split);
  write_text(out / "bounding_boxes.txt", boxes);
  write_text(out / "parts" / "parts.txt", parts);
  write_text(out / "parts" / "part_locs.txt", locs);
  write_text(out / "attributes.txt", attr_names);
  write_text(out / "attributes" / "image_attribute_labels.txt", attrs);
  write_text(out / "background_rgb.txt", bg);
  write_text(out / "style.txt", style);
  write_text(out / "classes.txt", classes);
  write_text(out / "allclasses.txt", all);
  write_text(out / "trainvalclasses.txt", trainval);
  write_text(out / "testclasses.txt", test);
  write_text(out / "README.txt", readme(o, static_cast<int>(n), train));

  DatasetSummary summary;
  summary.images = static_cast<int>(n);
  summary.classes = std::min(o.count, kNumSpecies);
  summary.train = train;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace t2i::birds
