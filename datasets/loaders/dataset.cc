#include "loaders/dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "error.h"
#include "loaders/text.h"
#include "stream.h"

namespace t2i::data {

namespace fs = std::filesystem;

const char* layout_name(Layout layout) { return layout == Layout::kCub ? "cub" : "oxford"; }

Split parse_split(const std::string& text) {
  if (text == "all") return Split::kAll;
  if (text == "trainval") return Split::kTrainval;
  if (text == "test") return Split::kTest;
  if (text == "cub-train") return Split::kCubTrain;
  if (text == "cub-test") return Split::kCubTest;
  fail<UsageError>("--split '{}': expected all, trainval, test, cub-train or cub-test", text);
}

const char* split_name(Split split) {
  switch (split) {
    case Split::kAll: return "all";
    case Split::kTrainval: return "trainval";
    case Split::kTest: return "test";
    case Split::kCubTrain: return "cub-train";
    case Split::kCubTest: return "cub-test";
  }
  return "?";
}

std::string Dataset::file(const std::string& name) const { return (fs::path(root) / name).string(); }

namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Collects consistency problems, or throws the first when there is no list.
struct Problems {
  std::vector<std::string>* list;
  void add(std::string what) {
    if (!list) throw InputError(std::move(what));
    list->push_back(std::move(what));
  }
};

bool parse_int(std::string_view s, long* out) {
  long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  *out = v;
  return true;
}

bool parse_float(std::string_view s, float* out) {
  float v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// An image id: a positive integer.
long parse_id(std::string_view s, const std::string& where, const char* expected) {
  long id = 0;
  if (!parse_int(s, &id) || id <= 0 || id > 1'000'000'000) fail<InputError>("{}: expected {}", where, expected);
  return id;
}

struct IdLine {
  long id;
  std::vector<std::string_view> fields;  // after the id
  std::string where;                     // "root/file:line"
};

// The non-blank lines of a "<id> fields..." file with exactly `nfields` fields after the id.
// The returned views point into `lines`.
std::vector<IdLine> read_id_file(const std::vector<std::string>& lines, const std::string& shown, std::size_t nfields,
                                 const char* expected) {
  std::vector<IdLine> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    std::string where = fmt::format("{}:{}", shown, i + 1);
    auto fields = split_fields(line);
    if (fields.size() != nfields + 1) fail<InputError>("{}: expected '{}'", where, expected);
    long id = parse_id(fields[0], where, expected);
    fields.erase(fields.begin());
    out.push_back({id, std::move(fields), std::move(where)});
  }
  return out;
}

// Checks that the ids of a per-image file are those of images.txt, each once; returns, per
// image index, the line found (or nullptr).
std::vector<const IdLine*> match_ids(const std::vector<IdLine>& lines, const std::unordered_map<long, std::size_t>& index,
                                     const Dataset& ds, const std::string& shown, Problems& problems) {
  std::vector<const IdLine*> found(ds.images.size(), nullptr);
  for (const IdLine& l : lines) {
    auto it = index.find(l.id);
    if (it == index.end()) {
      problems.add(fmt::format("{}: image id {} is not in images.txt", l.where, l.id));
      continue;
    }
    if (found[it->second]) {
      problems.add(fmt::format("{}: image id {} again (first at {})", l.where, l.id, found[it->second]->where));
      continue;
    }
    found[it->second] = &l;
  }
  std::size_t missing = 0;
  for (std::size_t i = 0; i < found.size(); ++i)
    if (!found[i] && missing++ == 0)
      problems.add(fmt::format("{}: no line for image id {} ({}) of images.txt", shown, ds.images[i].id, ds.images[i].key));
  if (missing > 1) problems.add(fmt::format("{}: {} image ids of images.txt have no line in all", shown, missing));
  return found;
}

// A class list of Reed's: one class folder name a line; blank lines skipped.
std::vector<std::string> read_class_list(const Dataset& ds, const std::string& name, Problems& problems) {
  std::string path = ds.file(name);
  std::vector<std::string> lines = read_text_lines(path, path);
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::set<std::string> known(ds.classes.begin(), ds.classes.end());
  std::size_t unknown = 0;
  std::string first_unknown;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view c = trim(lines[i]);
    if (c.empty()) continue;
    if (has_space(c)) fail<InputError>("{}:{}: expected one class name a line, got '{}'", path, i + 1, c);
    if (!seen.insert(std::string(c)).second) {
      problems.add(fmt::format("{}:{}: class '{}' listed twice", path, i + 1, c));
      continue;
    }
    if (!known.count(std::string(c)) && unknown++ == 0) first_unknown = fmt::format("{}:{}: class '{}'", path, i + 1, c);
    out.emplace_back(c);
  }
  if (unknown)
    problems.add(fmt::format("{} is not in the data{}{}", first_unknown,
                             ds.layout == Layout::kCub ? " (not in classes.txt, and no image of images.txt is in that folder)"
                                                       : " (no such folder in text_c10/)",
                             unknown > 1 ? fmt::format("; {} classes of {} are not", unknown, name) : ""));
  return out;
}

void read_class_lists(Dataset& ds, Problems& problems) {
  bool tv = is_file(ds.file("trainvalclasses.txt")), te = is_file(ds.file("testclasses.txt"));
  if (is_file(ds.file("allclasses.txt"))) ds.all_classes = read_class_list(ds, "allclasses.txt", problems);
  if (tv) ds.trainval_classes = read_class_list(ds, "trainvalclasses.txt", problems);
  if (te) ds.test_classes = read_class_list(ds, "testclasses.txt", problems);
  if (tv != te)
    problems.add(fmt::format("{}: found {} but not {}", ds.root, tv ? "trainvalclasses.txt" : "testclasses.txt",
                             tv ? "testclasses.txt" : "trainvalclasses.txt"));
  ds.has_class_lists = tv && te;
  std::set<std::string> trainval(ds.trainval_classes.begin(), ds.trainval_classes.end());
  std::set<std::string> test(ds.test_classes.begin(), ds.test_classes.end());
  for (const std::string& c : ds.test_classes)
    if (trainval.count(c)) problems.add(fmt::format("class '{}' is in both trainvalclasses.txt and testclasses.txt", c));
  for (ImageEntry& e : ds.images) {
    e.trainval = trainval.count(e.class_name) > 0;
    e.test = test.count(e.class_name) > 0;
  }
}

// A relative path with '/' separators, no "..", not absolute, no whitespace: usable as a key.
void check_relative(const std::string& path, const std::string& where) {
  if (has_space(path))
    fail<InputError>("{}: '{}' holds whitespace or a control byte, which image keys cannot", where, path);
  if (path.empty() || path.front() == '/') fail<InputError>("{}: expected a relative path, got '{}'", where, path);
  for (const auto& part : fs::path(path))
    if (part == "..") fail<InputError>("{}: '..' in '{}'", where, path);
}

void load_cub(Dataset& ds, Problems& problems) {
  const std::string images_txt = ds.file("images.txt");
  std::vector<std::string> lines = read_text_lines(images_txt, images_txt);
  std::unordered_map<long, std::size_t> index;
  std::unordered_map<std::string, std::string> keys;  // key -> where
  std::set<std::string> classes;
  const char* expected = "<id> <class>/<name>.<ext>";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    std::string where = fmt::format("{}:{}", images_txt, i + 1);
    std::size_t space = 0;
    while (space < line.size() && !is_space(line[space])) ++space;
    if (space == line.size()) fail<InputError>("{}: expected '{}'", where, expected);
    long id = parse_id(line.substr(0, space), where, expected);
    std::string path(trim(line.substr(space)));
    check_relative(path, where);
    fs::path p(path);
    std::string cls = p.has_parent_path() ? p.begin()->string() : "";
    if (cls.empty() || !p.has_stem() || p.extension().empty() || p.filename() == p.extension())
      fail<InputError>("{}: expected '{}', got '{}'", where, expected, path);
    ImageEntry e;
    e.id = id;
    e.key = (p.parent_path() / p.stem()).generic_string();
    if (auto problem = key_problem(e.key); !problem.empty())
      fail<InputError>("{}: cannot use '{}' as a key: {}", where, printable_key(e.key), problem);
    e.image_path = (fs::path(ds.root) / "images" / p).string();
    e.caption_path = (fs::path(ds.root) / "text_c10" / (e.key + ".txt")).string();
    e.class_name = cls;
    if (index.count(id)) {
      problems.add(fmt::format("{}: image id {} again", where, id));
      continue;
    }
    if (auto [it, fresh] = keys.emplace(e.key, where); !fresh) {
      problems.add(fmt::format("{}: image key '{}' again (first at {})", where, e.key, it->second));
      continue;
    }
    index.emplace(id, ds.images.size());
    classes.insert(cls);
    ds.images.push_back(std::move(e));
  }

  // classes.txt and image_class_labels.txt: the labels must name the image's own folder.
  std::map<long, std::string> class_names;
  if (std::string path = ds.file("classes.txt"); is_file(path)) {
    std::vector<std::string> cl = read_text_lines(path, path);
    for (const IdLine& l : read_id_file(cl, path, 1, "<class_id> <class>"))
      if (!class_names.emplace(l.id, std::string(l.fields[0])).second)
        problems.add(fmt::format("{}: class id {} again", l.where, l.id));
      else
        classes.emplace(l.fields[0]);
  }
  // The classes of the data: those of classes.txt (which may have no images in a subset) and the
  // folders of the images.
  ds.classes.assign(classes.begin(), classes.end());
  if (std::string path = ds.file("image_class_labels.txt"); is_file(path)) {
    if (class_names.empty()) problems.add(fmt::format("{}: found, but no classes.txt to name its classes", path));
    std::vector<std::string> ll = read_text_lines(path, path);
    std::vector<IdLine> labels = read_id_file(ll, path, 1, "<image_id> <class_id>");
    for (const IdLine& l : labels) parse_id(l.fields[0], l.where, "<image_id> <class_id>");
    auto found = match_ids(labels, index, ds, path, problems);
    for (std::size_t i = 0; i < found.size() && !class_names.empty(); ++i) {
      if (!found[i]) continue;
      long cid = parse_id(found[i]->fields[0], found[i]->where, "<image_id> <class_id>");
      auto it = class_names.find(cid);
      if (it == class_names.end())
        problems.add(fmt::format("{}: class id {} is not in classes.txt", found[i]->where, cid));
      else if (it->second != ds.images[i].class_name)
        problems.add(fmt::format("{}: class {} is '{}', but the image is in folder '{}'", found[i]->where, cid, it->second,
                                 ds.images[i].class_name));
    }
  }
  if (std::string path = ds.file("train_test_split.txt"); is_file(path)) {
    std::vector<std::string> sl = read_text_lines(path, path);
    std::vector<IdLine> split = read_id_file(sl, path, 1, "<image_id> <0|1>");
    for (const IdLine& l : split)
      if (l.fields[0] != "0" && l.fields[0] != "1") fail<InputError>("{}: expected '<image_id> <0|1>'", l.where);
    auto found = match_ids(split, index, ds, path, problems);
    for (std::size_t i = 0; i < found.size(); ++i) {
      if (!found[i]) continue;
      ds.images[i].cub_train = found[i]->fields[0] == "1" ? 1 : 0;
    }
    ds.has_cub_split = true;
  }
  if (std::string path = ds.file("bounding_boxes.txt"); is_file(path)) {
    const char* bexpected = "<image_id> <x> <y> <width> <height>";
    std::vector<std::string> bl = read_text_lines(path, path);
    std::vector<IdLine> boxes = read_id_file(bl, path, 4, bexpected);
    std::vector<BoundingBox> parsed;
    for (const IdLine& l : boxes) {
      BoundingBox b;
      const auto& f = l.fields;
      if (!parse_float(f[0], &b.x) || !parse_float(f[1], &b.y) || !parse_float(f[2], &b.width) ||
          !parse_float(f[3], &b.height))
        fail<InputError>("{}: expected '{}' with numbers", l.where, bexpected);
      if (b.width <= 0 || b.height <= 0 || b.x < 0 || b.y < 0)
        fail<InputError>("{}: expected x, y >= 0 and width, height > 0", l.where);
      parsed.push_back(b);
    }
    auto found = match_ids(boxes, index, ds, path, problems);
    for (std::size_t i = 0; i < found.size(); ++i)
      if (found[i]) ds.images[i].bbox = parsed[static_cast<std::size_t>(found[i] - boxes.data())];
    ds.has_bboxes = true;
  }
}

void load_oxford(Dataset& ds, Problems& problems) {
  const fs::path text = fs::path(ds.root) / "text_c10";
  const fs::path jpg = fs::path(ds.root) / "jpg";
  std::vector<fs::path> class_dirs;
  std::error_code ec;
  for (auto it = fs::directory_iterator(text, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->is_directory()) class_dirs.push_back(it->path());
  if (ec) fail<InputError>("{}: cannot list: {}", text.string(), ec.message());
  std::sort(class_dirs.begin(), class_dirs.end());
  std::unordered_map<std::string, std::string> owner;  // image name -> caption file
  for (const fs::path& dir : class_dirs) {
    std::string cls = dir.filename().string();
    if (has_space(cls))
      fail<InputError>("{}: class folder name holds whitespace, which image keys cannot", dir.string());
    std::vector<fs::path> files;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      if (it->path().extension() == ".txt" && it->is_regular_file()) files.push_back(it->path());
    if (ec) fail<InputError>("{}: cannot list: {}", dir.string(), ec.message());
    std::sort(files.begin(), files.end());
    ds.classes.push_back(cls);
    for (const fs::path& f : files) {
      std::string name = f.stem().string();
      if (has_space(name) || name.empty())
        fail<InputError>("{}: file name holds whitespace, which image keys cannot", f.string());
      if (auto [it, fresh] = owner.emplace(name, f.string()); !fresh) {
        problems.add(fmt::format("{}: image '{}' already has captions in {}", f.string(), name, it->second));
        continue;
      }
      ImageEntry e;
      e.key = cls + "/" + name;
      if (auto problem = key_problem(e.key); !problem.empty())
        fail<InputError>("{}: cannot use '{}' as a key: {}", f.string(), printable_key(e.key), problem);
      e.class_name = cls;
      e.caption_path = f.string();
      e.image_path = (jpg / (name + ".jpg")).string();
      for (const char* ext : {".jpeg", ".png", ".JPG"})
        if (!is_file(e.image_path) && is_file(jpg / (name + ext))) e.image_path = (jpg / (name + ext)).string();
      ds.images.push_back(std::move(e));
    }
  }
  std::sort(ds.images.begin(), ds.images.end(), [](const ImageEntry& a, const ImageEntry& b) { return a.key < b.key; });
  for (std::size_t i = 0; i < ds.images.size(); ++i) ds.images[i].id = static_cast<int>(i + 1);
  for (auto it = fs::directory_iterator(jpg, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    if (it->is_regular_file() && !owner.count(it->path().stem().string())) ++ds.unlabelled_images;
  if (ec) fail<InputError>("{}: cannot list: {}", jpg.string(), ec.message());
  ds.has_captions = true;
}

}  // namespace

Layout detect_layout(const std::string& root) {
  fs::path r(root);
  if (!is_dir(r)) fail<InputError>("{}: no such directory: expected a dataset folder", root);
  if (is_file(r / "images.txt") && is_dir(r / "images")) return Layout::kCub;
  if (is_dir(r / "jpg") && is_dir(r / "text_c10")) return Layout::kOxford;
  fail<InputError>(
      "{}: not a dataset folder: expected images.txt and images/ (CUB-200-2011) or jpg/ and text_c10/ "
      "(Oxford-102 with Reed's captions)",
      root);
}

Dataset load_dataset(const std::string& root, std::vector<std::string>* problem_list) {
  Problems problems{problem_list};
  Dataset ds;
  ds.root = root;
  ds.layout = detect_layout(root);
  if (ds.layout == Layout::kCub) {
    load_cub(ds, problems);
    ds.has_captions = is_dir(fs::path(root) / "text_c10");
  } else {
    load_oxford(ds, problems);
  }
  read_class_lists(ds, problems);
  return ds;
}

std::vector<std::size_t> select_images(const Dataset& ds, Split split, std::size_t limit) {
  if ((split == Split::kTrainval || split == Split::kTest) && !ds.has_class_lists)
    fail<InputError>("{}: --split {} needs Reed's class lists trainvalclasses.txt and testclasses.txt there", ds.root,
                     split_name(split));
  if ((split == Split::kCubTrain || split == Split::kCubTest) && !ds.has_cub_split)
    fail<InputError>("{}: --split {} needs CUB's train_test_split.txt there", ds.root, split_name(split));
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < ds.images.size() && (limit == 0 || out.size() < limit); ++i) {
    const ImageEntry& e = ds.images[i];
    bool keep = split == Split::kAll || (split == Split::kTrainval && e.trainval) || (split == Split::kTest && e.test) ||
                (split == Split::kCubTrain && e.cub_train == 1) || (split == Split::kCubTest && e.cub_train == 0);
    if (keep) out.push_back(i);
  }
  return out;
}

std::optional<std::vector<std::string>> read_captions(const ImageEntry& image, const Dataset&) {
  if (!is_file(image.caption_path)) return std::nullopt;
  std::vector<std::string> out;
  // Reed's files hold ten captions; a thousand lines is generous, and bounds what garbage costs.
  for (const std::string& line : read_text_lines(image.caption_path, image.caption_path, kMaxLineBytes, 1000)) {
    std::string c = clean_caption(line);
    if (!c.empty()) out.push_back(std::move(c));
  }
  return out;
}

AttributeTable read_attributes(const Dataset& ds) {
  AttributeTable table;
  const std::string names_path = ds.file("attributes.txt");
  if (!is_file(names_path)) fail<InputError>("{}: no such file: expected the attribute list '<id> <name>'", names_path);
  const char* nexpected = "<attribute_id> <name>";
  std::vector<std::string> nl = read_text_lines(names_path, names_path);
  for (const IdLine& l : read_id_file(nl, names_path, 1, nexpected)) {
    if (l.id != static_cast<long>(table.names.size()) + 1)
      fail<InputError>("{}: attribute id {}, expected {} (ids in order from 1)", l.where, l.id, table.names.size() + 1);
    table.names.emplace_back(l.fields[0]);
  }
  if (table.names.empty()) fail<InputError>("{}: no attributes", names_path);
  const std::string labels_path = ds.file("attributes/image_attribute_labels.txt");
  if (!is_file(labels_path))
    fail<InputError>("{}: no such file: expected '<image_id> <attribute_id> <is_present> ...' lines", labels_path);
  std::unordered_map<long, std::size_t> index;
  for (std::size_t i = 0; i < ds.images.size(); ++i) index.emplace(ds.images[i].id, i);
  table.present.assign(ds.images.size(), std::vector<std::uint8_t>(table.names.size(), 0));
  std::vector<bool> labelled(ds.images.size(), false);
  const char* expected = "<image_id> <attribute_id> <is_present> [<certainty_id> <time>]";
  std::vector<std::string> lines = read_text_lines(labels_path, labels_path);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    auto f = split_fields(line);
    const std::string where = fmt::format("{}:{}", labels_path, i + 1);
    // CUB-200-2011's own file has a few lines with one field too many; only the first three matter.
    if (f.size() < 3 || f.size() > 6) fail<InputError>("{}: expected '{}'", where, expected);
    const long image_id = parse_id(f[0], where, expected), attr = parse_id(f[1], where, expected);
    if (f[2] != "0" && f[2] != "1") fail<InputError>("{}: is_present '{}', expected 0 or 1", where, f[2]);
    auto it = index.find(image_id);
    if (it == index.end()) fail<InputError>("{}: image id {} is not in images.txt", where, image_id);
    if (attr > static_cast<long>(table.names.size()))
      fail<InputError>("{}: attribute id {} is not in attributes.txt ({} attributes)", where, attr, table.names.size());
    table.present[it->second][static_cast<std::size_t>(attr - 1)] = f[2] == "1";
    labelled[it->second] = true;
  }
  table.labelled_images = static_cast<std::size_t>(std::count(labelled.begin(), labelled.end(), true));
  return table;
}

Rect crop_rect(const BoundingBox& box, float margin, int width, int height, const std::string& what) {
  double mx = static_cast<double>(margin) * box.width, my = static_cast<double>(margin) * box.height;
  auto clamp = [](double v, int hi) { return static_cast<int>(std::clamp(v, 0.0, static_cast<double>(hi))); };
  Rect r{clamp(std::floor(box.x - mx), width), clamp(std::floor(box.y - my), height),
         clamp(std::ceil(static_cast<double>(box.x) + box.width + mx), width),
         clamp(std::ceil(static_cast<double>(box.y) + box.height + my), height)};
  if (r.x1 <= r.x0 || r.y1 <= r.y0)
    fail<InputError>("{}: bounding box {} {} {} {} lies outside the {}x{} image", what, box.x, box.y, box.width,
                     box.height, width, height);
  return r;
}

Image crop(const Image& image, const Rect& r) {
  Image out(r.x1 - r.x0, r.y1 - r.y0, image.channels);
  const std::size_t row = static_cast<std::size_t>(out.width) * image.channels;
  for (int y = 0; y < out.height; ++y) std::copy_n(image.at(r.x0, r.y0 + y), row, out.at(0, y));
  return out;
}

}  // namespace t2i::data
