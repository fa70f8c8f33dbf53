// Readers of image-caption datasets in the layouts of CUB-200-2011 (with Reed's text_c10
// captions and class lists) and Oxford-102 flowers (with Reed's captions).
//
//   CUB:    images.txt, images/<class>/<name>.jpg|png, and optionally classes.txt,
//           image_class_labels.txt, train_test_split.txt, bounding_boxes.txt;
//           Reed's text_c10/<class>/<name>.txt and allclasses.txt, trainvalclasses.txt,
//           testclasses.txt next to them. Key: "<class>/<name>".
//   Oxford: jpg/image_NNNNN.jpg, text_c10/class_NNNNN/image_NNNNN.txt (the folder holding an
//           image's caption file is its class), and the class lists. Key: "class_NNNNN/image_NNNNN".
//
// load_dataset() reads and validates the index files; syntax errors (a malformed line, a line
// too long) are always thrown as InputError naming file and line. Consistency problems (ids
// that differ across files, classes in the lists that do not exist, a class in both lists) are
// thrown too, unless a problem list is passed, in which case they are collected there (for
// check-dataset) and loading goes on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "image.h"

namespace t2i::data {

enum class Layout { kCub, kOxford };
const char* layout_name(Layout layout);

// Which images a tool works on: all, by Reed's class lists (trainval, test), or by CUB's own
// per-image train_test_split.txt (cub-train, cub-test).
enum class Split { kAll, kTrainval, kTest, kCubTrain, kCubTest };
// Parses "all", "trainval", "test", "cub-train", "cub-test"; UsageError otherwise.
Split parse_split(const std::string& text);
const char* split_name(Split split);

struct BoundingBox {
  float x = 0, y = 0, width = 0, height = 0;  // pixels, from the top left corner
};

struct ImageEntry {
  std::string key;           // "001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111"
  std::string image_path;    // the file, root included
  std::string caption_path;  // text_c10/<key>.txt, root included (may not exist)
  std::string class_name;    // "001.Black_footed_Albatross", "class_00001"
  int id = 0;                // CUB image id; Oxford: position + 1
  bool trainval = false;     // class in trainvalclasses.txt
  bool test = false;         // class in testclasses.txt
  int cub_train = -1;        // train_test_split.txt: 1 train, 0 test, -1 absent
  std::optional<BoundingBox> bbox;
};

struct Dataset {
  Layout layout = Layout::kCub;
  std::string root;
  std::vector<ImageEntry> images;      // in dataset order (CUB: images.txt; Oxford: by key)
  std::vector<std::string> classes;    // CUB: classes.txt and image folders; Oxford: text_c10 folders; sorted
  bool has_class_lists = false;        // trainvalclasses.txt and testclasses.txt were found
  std::vector<std::string> trainval_classes, test_classes, all_classes;  // as listed
  bool has_captions = false;           // text_c10/ exists
  bool has_cub_split = false;          // train_test_split.txt was read
  bool has_bboxes = false;             // bounding_boxes.txt was read
  std::size_t unlabelled_images = 0;   // Oxford: files in jpg/ without a caption file

  std::string file(const std::string& name) const;  // root/name
};

// CUB if root/images.txt and root/images/ exist, Oxford if root/jpg/ and root/text_c10/ exist;
// InputError naming what was expected otherwise.
Layout detect_layout(const std::string& root);

Dataset load_dataset(const std::string& root, std::vector<std::string>* problems = nullptr);

// The indices of the images in a split, in dataset order, at most `limit` (0: no limit).
// UsageError if the split needs files the dataset lacks (class lists, train_test_split.txt).
std::vector<std::size_t> select_images(const Dataset& dataset, Split split, std::size_t limit = 0);

// The captions of an image: its caption file's non-blank lines, cleaned (clean_caption()).
// nullopt if the file does not exist; InputError if it cannot be read or is not text.
std::optional<std::vector<std::string>> read_captions(const ImageEntry& image, const Dataset& dataset);

// CUB's attribute labels: attributes.txt ("<attribute_id> <name>", ids 1..A in order) and
// attributes/image_attribute_labels.txt ("<image_id> <attribute_id> <is_present> [certainty
// time ...]"). Names are CUB's "has_crown_color::red": a group, "::", a value.
struct AttributeTable {
  std::vector<std::string> names;                  // index: attribute id - 1
  std::vector<std::vector<std::uint8_t>> present;  // per image of Dataset::images, per attribute: 0 or 1
  std::size_t labelled_images = 0;                 // images with at least one label line
};
// InputError naming the file (and line) when either file is missing or malformed, or a line names
// an image or attribute that does not exist. Attributes without a line for an image are absent.
AttributeTable read_attributes(const Dataset& dataset);

// The pixel rectangle of a bounding box enlarged by `margin` times its width on the left and
// the right and times its height above and below, rounded outwards and clamped to the image.
// InputError (naming `what`) if nothing of it lies inside the image.
struct Rect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};
Rect crop_rect(const BoundingBox& box, float margin, int width, int height, const std::string& what);
Image crop(const Image& image, const Rect& rect);

}  // namespace t2i::data
