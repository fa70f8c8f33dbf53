// The dataset readers (datasets/loaders): layouts of CUB-200-2011 and Oxford-102 with Reed's
// captions, built here in a temporary folder with real JPEG files.
#include <gtest/gtest.h>
#include <jpeglib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "error.h"
#include "image.h"
#include "loaders/dataset.h"
#include "loaders/text.h"
#include "test_util.h"

namespace t2i::data {
namespace {

namespace fs = std::filesystem;

using test::encode_jpeg;

// A w x h image of one colour with a box of another at [bx, bx+bw) x [by, by+bh).
Image boxed(int w, int h, std::array<std::uint8_t, 3> bg, int bx, int by, int bw, int bh, std::array<std::uint8_t, 3> fg) {
  Image img(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      bool in = x >= bx && x < bx + bw && y >= by && y < by + bh;
      for (int c = 0; c < 3; ++c) img.at(x, y)[c] = in ? fg[static_cast<std::size_t>(c)] : bg[static_cast<std::size_t>(c)];
    }
  return img;
}

void put(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  test::write_bytes(path.string(), text);
}

const std::string kTen = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";

// Three classes of two JPEG images each; 001 and 002 trainval, 003 test.
struct Cub {
  test::TempDir dir;
  fs::path root() const { return dir.path(); }
  std::string s() const { return dir.path().string(); }
  Cub() {
    const char* classes[] = {"001.Red_bird", "002.Blue_bird", "003.Green_bird"};
    std::string images, labels, split, boxes, class_lines;
    int id = 1;
    for (int c = 0; c < 3; ++c) {
      class_lines += fmt::format("{} {}\n", c + 1, classes[c]);
      for (int k = 0; k < 2; ++k, ++id) {
        std::string name = fmt::format("{}/Bird_{:04d}", classes[c], id);
        Image img = boxed(40, 30, {200, 30, 30}, 10, 5, 16, 16, {20, 40, 220});
        put(root() / "images" / (name + ".jpg"), encode_jpeg(img, 95));
        put(root() / "text_c10" / (name + ".txt"), kTen);
        images += fmt::format("{} {}.jpg\n", id, name);
        labels += fmt::format("{} {}\n", id, c + 1);
        split += fmt::format("{} {}\n", id, k == 0 ? 1 : 0);
        boxes += fmt::format("{} 10.0 5.0 16.0 16.0\n", id);
      }
    }
    put(root() / "images.txt", images);
    put(root() / "classes.txt", class_lines);
    put(root() / "image_class_labels.txt", labels);
    put(root() / "train_test_split.txt", split);
    put(root() / "bounding_boxes.txt", boxes);
    put(root() / "allclasses.txt", "001.Red_bird\n002.Blue_bird\n003.Green_bird\n");
    put(root() / "trainvalclasses.txt", "001.Red_bird\r\n002.Blue_bird\r\n\r\n");
    put(root() / "testclasses.txt", "003.Green_bird\n");
  }
};

TEST(DataLoaders, DetectsTheLayouts) {
  Cub cub;
  EXPECT_EQ(detect_layout(cub.s()), Layout::kCub);
  test::TempDir other;
  try {
    detect_layout(other.path().string());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("expected images.txt and images/"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("jpg/ and text_c10/"), std::string::npos) << e.what();
  }
  EXPECT_THROW(detect_layout(other.file("nope")), InputError);
}

TEST(DataLoaders, ReadsCub) {
  Cub cub;
  Dataset ds = load_dataset(cub.s());
  ASSERT_EQ(ds.images.size(), 6u);
  EXPECT_EQ(ds.images[0].key, "001.Red_bird/Bird_0001");
  EXPECT_EQ(ds.images[5].key, "003.Green_bird/Bird_0006");
  EXPECT_EQ(ds.images[2].class_name, "002.Blue_bird");
  EXPECT_EQ(ds.images[2].image_path, (cub.root() / "images/002.Blue_bird/Bird_0003.jpg").string());
  EXPECT_EQ(ds.classes.size(), 3u);
  EXPECT_TRUE(ds.has_class_lists && ds.has_cub_split && ds.has_bboxes && ds.has_captions);
  ASSERT_TRUE(ds.images[0].bbox);
  EXPECT_EQ(ds.images[0].bbox->x, 10.0f);
  EXPECT_EQ(ds.images[0].bbox->width, 16.0f);

  auto keys = [&](Split s, std::size_t limit = 0) {
    std::string out;
    for (std::size_t i : select_images(ds, s, limit)) out += std::to_string(ds.images[i].id);
    return out;
  };
  EXPECT_EQ(keys(Split::kAll), "123456");
  EXPECT_EQ(keys(Split::kTrainval), "1234");
  EXPECT_EQ(keys(Split::kTest), "56");
  EXPECT_EQ(keys(Split::kCubTrain), "135");
  EXPECT_EQ(keys(Split::kCubTest), "246");
  EXPECT_EQ(keys(Split::kTrainval, 3), "123");

  auto captions = read_captions(ds.images[0], ds);
  ASSERT_TRUE(captions);
  EXPECT_EQ(captions->size(), 10u);
  Image img = read_image(ds.images[0].image_path);
  EXPECT_EQ(img.width, 40);
  EXPECT_EQ(img.height, 30);
}

TEST(DataLoaders, CropsToTheBoundingBox) {
  Cub cub;
  Dataset ds = load_dataset(cub.s());
  Image img = read_image(ds.images[0].image_path);
  Rect r = crop_rect(*ds.images[0].bbox, 0, img.width, img.height, "x");
  EXPECT_EQ(r.x0, 10);
  EXPECT_EQ(r.y0, 5);
  EXPECT_EQ(r.x1, 26);
  EXPECT_EQ(r.y1, 21);
  // The crop is the blue box: at 4x4, every pixel is blue (JPEG: within a few levels).
  Image small = resize_area(crop(img, Rect{r.x0 + 2, r.y0 + 2, r.x1 - 2, r.y1 - 2}), 4, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      EXPECT_LT(small.at(x, y)[0], 60);
      EXPECT_GT(small.at(x, y)[2], 180);
    }
  // A margin of 0.5 adds 8 pixels a side, clamped to the image.
  Rect m = crop_rect(*ds.images[0].bbox, 0.5f, img.width, img.height, "x");
  EXPECT_EQ(m.x0, 2);
  EXPECT_EQ(m.y0, 0);
  EXPECT_EQ(m.x1, 34);
  EXPECT_EQ(m.y1, 29);
  EXPECT_THROW(crop_rect(BoundingBox{50, 5, 10, 10}, 0, 40, 30, "x"), InputError);
}

TEST(DataLoaders, CleansCaptions) {
  Cub cub;
  put(cub.root() / "text_c10/001.Red_bird/Bird_0001.txt",
      "\xEF\xBB\xBF" "a red bird  \r\n\r\n   \nwith\ta tab\r\ncaf\xC3\xA9 bird\nbad \xFF byte\n");
  Dataset ds = load_dataset(cub.s());
  auto captions = read_captions(ds.images[0], ds);
  ASSERT_TRUE(captions);
  std::vector<std::string> want = {"a red bird", "with a tab", "caf\xC3\xA9 bird", "bad \xEF\xBF\xBD byte"};
  EXPECT_EQ(*captions, want);
  fs::remove(cub.root() / "text_c10/001.Red_bird/Bird_0002.txt");
  EXPECT_FALSE(read_captions(ds.images[1], ds));
}

std::string load_error(const Cub& cub) {
  try {
    load_dataset(cub.s());
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(DataLoaders, ReadsAttributes) {
  Cub cub;
  Dataset ds = load_dataset(cub.s());
  auto error = [&] {
    try {
      read_attributes(ds);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error(), cub.s() + "/attributes.txt: no such file: expected the attribute list '<id> <name>'");
  put(cub.root() / "attributes.txt", "1 has_crown_color::red\n2 has_crown_color::blue\n3 has_eye_pattern::eyering\n");
  EXPECT_NE(error().find("image_attribute_labels.txt: no such file"), std::string::npos) << error();
  // CUB's own lines have five fields (a few six); image 6 has no line at all.
  put(cub.root() / "attributes" / "image_attribute_labels.txt",
      "1 1 1 3 0.5\n1 2 0 3 0.5\n1 3 1 4 1.0 0\n2 2 1 3 0.5\n3 1 0\n4 3 1 3 0\n5 2 1 3 0\n");
  AttributeTable t = read_attributes(ds);
  EXPECT_EQ(t.names, (std::vector<std::string>{"has_crown_color::red", "has_crown_color::blue", "has_eye_pattern::eyering"}));
  ASSERT_EQ(t.present.size(), 6u);
  EXPECT_EQ(t.present[0], (std::vector<std::uint8_t>{1, 0, 1}));
  EXPECT_EQ(t.present[1], (std::vector<std::uint8_t>{0, 1, 0}));
  EXPECT_EQ(t.present[5], (std::vector<std::uint8_t>{0, 0, 0}));
  EXPECT_EQ(t.labelled_images, 5u);
  put(cub.root() / "attributes" / "image_attribute_labels.txt", "1 1 1 3 0.5\n9 1 1 3 0\n");
  EXPECT_EQ(error(), cub.s() + "/attributes/image_attribute_labels.txt:2: image id 9 is not in images.txt");
  put(cub.root() / "attributes" / "image_attribute_labels.txt", "1 4 1 3 0.5\n");
  EXPECT_EQ(error(), cub.s() + "/attributes/image_attribute_labels.txt:1: attribute id 4 is not in attributes.txt (3 attributes)");
  put(cub.root() / "attributes" / "image_attribute_labels.txt", "1 1 yes\n");
  EXPECT_EQ(error(), cub.s() + "/attributes/image_attribute_labels.txt:1: is_present 'yes', expected 0 or 1");
  put(cub.root() / "attributes.txt", "1 has_crown_color::red\n3 has_crown_color::blue\n");
  EXPECT_EQ(error(), cub.s() + "/attributes.txt:2: attribute id 3, expected 2 (ids in order from 1)");
}

TEST(DataLoaders, RefusesMalformedLines) {
  {
    Cub cub;
    put(cub.root() / "images.txt", "1 001.Red_bird/Bird_0001.jpg\nfoo\n");
    EXPECT_EQ(load_error(cub), cub.s() + "/images.txt:2: expected '<id> <class>/<name>.<ext>'");
  }
  {
    Cub cub;
    put(cub.root() / "images.txt", "1 001.Red_bird/Bird 0001.jpg\n");
    EXPECT_NE(load_error(cub).find("images.txt:1: '001.Red_bird/Bird 0001.jpg' holds whitespace"), std::string::npos)
        << load_error(cub);
  }
  {
    Cub cub;
    put(cub.root() / "bounding_boxes.txt", "1 1 2 3\n");
    EXPECT_EQ(load_error(cub), cub.s() + "/bounding_boxes.txt:1: expected '<image_id> <x> <y> <width> <height>'");
  }
  {
    Cub cub;
    put(cub.root() / "train_test_split.txt", "1 1\n2 x\n");
    EXPECT_EQ(load_error(cub), cub.s() + "/train_test_split.txt:2: expected '<image_id> <0|1>'");
  }
  {
    Cub cub;
    put(cub.root() / "images.txt", std::string(kMaxLineBytes + 10, 'a'));
    EXPECT_NE(load_error(cub).find("images.txt:1: line longer than"), std::string::npos);
  }
  {
    Cub cub;
    put(cub.root() / "images.txt", std::string("1 a\0b", 5));
    EXPECT_NE(load_error(cub).find("NUL byte"), std::string::npos);
  }
}

TEST(DataLoaders, RefusesInconsistentFiles) {
  {
    Cub cub;  // an id of images.txt missing in the labels
    put(cub.root() / "image_class_labels.txt", "1 1\n2 1\n3 2\n4 2\n5 3\n");
    EXPECT_NE(load_error(cub).find("image_class_labels.txt: no line for image id 6"), std::string::npos) << load_error(cub);
  }
  {
    Cub cub;  // an id not in images.txt
    put(cub.root() / "bounding_boxes.txt", "1 0 0 1 1\n2 0 0 1 1\n3 0 0 1 1\n4 0 0 1 1\n5 0 0 1 1\n6 0 0 1 1\n7 0 0 1 1\n");
    EXPECT_NE(load_error(cub).find("bounding_boxes.txt:7: image id 7 is not in images.txt"), std::string::npos);
  }
  {
    Cub cub;  // a label naming another folder
    put(cub.root() / "image_class_labels.txt", "1 2\n2 1\n3 2\n4 2\n5 3\n6 3\n");
    EXPECT_NE(load_error(cub).find("image_class_labels.txt:1: class 2 is '002.Blue_bird', but the image is in folder '001.Red_bird'"),
              std::string::npos) << load_error(cub);
  }
  {
    Cub cub;
    put(cub.root() / "testclasses.txt", "003.Green_bird\n004.Ghost_bird\n");
    EXPECT_NE(load_error(cub).find("testclasses.txt:2: class '004.Ghost_bird' is not in the data"), std::string::npos);
  }
  {
    Cub cub;
    put(cub.root() / "testclasses.txt", "003.Green_bird\n002.Blue_bird\n");
    EXPECT_EQ(load_error(cub), "class '002.Blue_bird' is in both trainvalclasses.txt and testclasses.txt");
    std::vector<std::string> problems;
    Dataset ds = load_dataset(cub.s(), &problems);  // collected, not thrown
    EXPECT_EQ(problems.size(), 1u);
    EXPECT_EQ(ds.images.size(), 6u);
  }
}

TEST(DataLoaders, ListedClassesMayHaveNoImagesInASubset) {
  // As make-birds --count 20 writes: classes.txt and the lists name classes without images.
  Cub cub;
  put(cub.root() / "classes.txt", "1 001.Red_bird\n2 002.Blue_bird\n3 003.Green_bird\n4 004.Empty_bird\n");
  put(cub.root() / "testclasses.txt", "003.Green_bird\n004.Empty_bird\n");
  Dataset ds = load_dataset(cub.s());
  EXPECT_EQ(ds.classes.size(), 4u);
  EXPECT_EQ(select_images(ds, Split::kTest).size(), 2u);
  // Many unknown classes give one problem, with the first and a count.
  put(cub.root() / "testclasses.txt", "003.Green_bird\nx1\nx2\nx3\n");
  std::vector<std::string> problems;
  load_dataset(cub.s(), &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("testclasses.txt:2: class 'x1' is not in the data"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("3 classes of testclasses.txt are not"), std::string::npos) << problems[0];
}

TEST(DataLoaders, SplitsNeedTheirFiles) {
  Cub cub;
  fs::remove(cub.root() / "trainvalclasses.txt");
  fs::remove(cub.root() / "testclasses.txt");
  fs::remove(cub.root() / "train_test_split.txt");
  Dataset ds = load_dataset(cub.s());
  EXPECT_EQ(select_images(ds, Split::kAll).size(), 6u);
  EXPECT_THROW(select_images(ds, Split::kTrainval), InputError);
  EXPECT_THROW(select_images(ds, Split::kCubTrain), InputError);
  EXPECT_THROW(parse_split("train"), UsageError);
}

TEST(DataLoaders, ReadsOxford) {
  test::TempDir dir;
  fs::path root = dir.path();
  Image img = boxed(24, 20, {250, 250, 0}, 0, 0, 1, 1, {0, 0, 0});
  for (int i = 1; i <= 5; ++i) put(root / fmt::format("jpg/image_{:05d}.jpg", i), encode_jpeg(img, 90));
  put(root / "text_c10/class_00002/image_00001.txt", kTen);
  put(root / "text_c10/class_00001/image_00003.txt", kTen);
  put(root / "text_c10/class_00001/image_00002.txt", "a\r\nb\r\n");
  put(root / "text_c10/class_00003/image_00004.txt", kTen);
  put(root / "text_c10/class_00003/notes.md", "ignored");
  put(root / "trainvalclasses.txt", "class_00001\nclass_00002\n");
  put(root / "testclasses.txt", "class_00003\n");
  Dataset ds = load_dataset(root.string());
  EXPECT_EQ(ds.layout, Layout::kOxford);
  ASSERT_EQ(ds.images.size(), 4u);
  EXPECT_EQ(ds.images[0].key, "class_00001/image_00002");
  EXPECT_EQ(ds.images[1].key, "class_00001/image_00003");
  EXPECT_EQ(ds.images[2].key, "class_00002/image_00001");
  EXPECT_EQ(ds.images[0].image_path, (root / "jpg/image_00002.jpg").string());
  EXPECT_EQ(ds.unlabelled_images, 1u);  // image_00005
  EXPECT_EQ(select_images(ds, Split::kTest).size(), 1u);
  EXPECT_EQ(read_captions(ds.images[0], ds)->size(), 2u);
  EXPECT_EQ(read_image(ds.images[3].image_path).width, 24);

  put(root / "text_c10/class_00002/image 00009.txt", kTen);
  EXPECT_THROW(load_dataset(root.string()), InputError);
}

// Writes a JPEG for the shell tests (tests/cli/data_loaders.sh) where they ask for one.
TEST(DataLoaders, WritesTheCliJpegFixture) {
  const char* path = std::getenv("T2I_DATA_JPEG_FIXTURE");
  Image img = boxed(48, 32, {30, 160, 30}, 0, 0, 0, 0, {0, 0, 0});
  std::string jpeg = encode_jpeg(img, 95);
  EXPECT_TRUE(decode_image(jpeg, "mem.jpg").width == 48);
  if (path) test::write_bytes(path, jpeg);
}

}  // namespace
}  // namespace t2i::data
