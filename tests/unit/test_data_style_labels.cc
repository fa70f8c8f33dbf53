// What the disentangling probe reads of a dataset (datasets/loaders/style_labels.h): part
// keypoints, background colours, image sizes from file headers, and the background colour
// estimated from the pixels where a dataset has no background file.
#include <gtest/gtest.h>

#include <filesystem>

#include "error.h"
#include "image.h"
#include "loaders/dataset.h"
#include "loaders/style_labels.h"
#include "test_util.h"

namespace t2i::data {
namespace {

namespace fs = std::filesystem;

void put(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  test::write_bytes(path.string(), text);
}

// w x h of colour bg with a box of colour fg at [bx, bx+bw) x [by, by+bh).
Image boxed(int w, int h, std::array<std::uint8_t, 3> bg, int bx, int by, int bw, int bh, std::array<std::uint8_t, 3> fg) {
  Image img(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool in = x >= bx && x < bx + bw && y >= by && y < by + bh;
      for (int c = 0; c < 3; ++c) img.at(x, y)[c] = in ? fg[static_cast<std::size_t>(c)] : bg[static_cast<std::size_t>(c)];
    }
  return img;
}

// Two images of one class: a PNG 40 x 30 and a JPEG 50 x 20.
struct Tiny {
  test::TempDir dir;
  fs::path root() const { return dir.path(); }
  Tiny() {
    put(root() / "images" / "001.A" / "a1.png", encode_png(boxed(40, 30, {10, 200, 30}, 10, 5, 16, 16, {200, 0, 0})));
    put(root() / "images" / "001.A" / "a2.jpg", test::encode_jpeg(boxed(50, 20, {90, 90, 90}, 0, 0, 5, 5, {0, 0, 0}), 95));
    put(root() / "images.txt", "1 001.A/a1.png\n2 001.A/a2.jpg\n");
    put(root() / "bounding_boxes.txt", "1 10.0 5.0 16.0 16.0\n2 0 0 5 5\n");
    put(root() / "parts" / "parts.txt", "1 beak\n2 Tail\n");
    put(root() / "parts" / "part_locs.txt", "1 1 4.0 3.0 1\n1 2 0.0 0.0 0\n2 1 10.5 2.5 1\n");
  }
};

TEST(StyleLabels, ReadsPartsAndBackgrounds) {
  Tiny t;
  const Dataset d = load_dataset(t.root().string());
  const PartTable p = read_part_locs(d);
  ASSERT_EQ(p.names, (std::vector<std::string>{"beak", "Tail"}));
  EXPECT_EQ(find_part(p, "tail"), 1);
  EXPECT_EQ(find_part(p, "crown"), -1);
  ASSERT_EQ(p.locs.size(), 2u);
  EXPECT_TRUE(p.locs[0][0].visible);
  EXPECT_FLOAT_EQ(p.locs[0][0].x, 4.0f);
  EXPECT_FALSE(p.locs[0][1].visible);
  EXPECT_FLOAT_EQ(p.locs[1][0].y, 2.5f);
  EXPECT_FALSE(p.locs[1][1].visible);  // no line: hidden
  EXPECT_TRUE(p.labelled[1]);

  EXPECT_FALSE(read_background_rgb(d).has_value());
  put(t.root() / "background_rgb.txt", "2 1.5 2 3\n");
  const auto bg = read_background_rgb(d);
  ASSERT_TRUE(bg.has_value());
  EXPECT_FALSE((*bg)[0].has_value());
  EXPECT_EQ(*(*bg)[1], (std::array<double, 3>{1.5, 2, 3}));

  // Without parts.txt: CUB's names.
  fs::remove(t.root() / "parts" / "parts.txt");
  put(t.root() / "parts" / "part_locs.txt", "1 14 4.0 3.0 1\n");
  const PartTable cub = read_part_locs(d);
  EXPECT_EQ(cub.names.size(), 15u);
  EXPECT_EQ(find_part(cub, "tail"), 13);
  EXPECT_TRUE(cub.locs[0][13].visible);
}

// style.txt as make-birds writes it: each column a distinct value, so a column read in the wrong
// place shows.
TEST(StyleLabels, ReadsTheOtherDrawnStyle) {
  Tiny t;
  const Dataset d = load_dataset(t.root().string());
  EXPECT_FALSE(read_other_style(d, {}).has_value());
  // id facing scale cx cy tilt head_turn background bg_top(3) bg_bottom(3) ground(3) horizon_y
  // branch branch_y slope width branch(3) brightness contrast
  put(t.root() / "style.txt",
      "2 1 30.5 20 21 0.1 -0.2 horizon 10 20 30 61 72 83 102 153 204 15 1 12 -0.25 3 51 102 153 -5.1 0.9\n"
      "1 0 30.5 20 21 0.1 -0.2 gradient 10 20 30 61 72 83 102 153 204 15 0 0 0 0 0 0 0 12.75 1.1\n");
  const auto st = read_other_style(d, {30.0, 20.0});
  ASSERT_TRUE(st.has_value());
  ASSERT_EQ(st->size(), 2u);
  const std::array<double, kOtherStyleDim> horizon_branch = {0, 0, 1,  // kind
                                                           51 / 255.0, 52 / 255.0, 53 / 255.0,  // bottom - top
                                                           0.4, 0.6, 0.8,  // ground
                                                           15 / 20.0,  // horizon row / height
                                                           1, 12 / 20.0, -0.25, 3 / 20.0,  // branch, row, slope, width
                                                           0.2, 0.4, 0.6,  // branch colour
                                                           -5.1 / 255.0, 0.9};  // lighting
  const std::array<double, kOtherStyleDim> gradient_bare = {0, 1, 0, 51 / 255.0, 52 / 255.0, 53 / 255.0,
                                                          0, 0, 0, 0,  // no ground, no horizon
                                                          0, 0, 0, 0, 0, 0, 0, 12.75 / 255.0, 1.1};
  for (std::size_t i = 0; i < kOtherStyleDim; ++i) {
    EXPECT_NEAR((*st)[1]->at(i), horizon_branch[i], 1e-12) << "value " << i;
    EXPECT_NEAR((*st)[0]->at(i), gradient_bare[i], 1e-12) << "value " << i;
  }
  // No height known: rows and widths stay in pixels.
  EXPECT_DOUBLE_EQ((*read_other_style(d, {}))[1]->at(9), 15.0);
}

TEST(StyleLabels, RefusesMalformedFiles) {
  Tiny t;
  const Dataset d = load_dataset(t.root().string());
  auto message = [&](auto&& f) {
    try {
      f();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  put(t.root() / "parts" / "part_locs.txt", "1 1 4.0 3.0\n");
  EXPECT_NE(message([&] { read_part_locs(d); }).find("part_locs.txt:1:"), std::string::npos);
  put(t.root() / "parts" / "part_locs.txt", "7 1 4.0 3.0 1\n");
  EXPECT_NE(message([&] { read_part_locs(d); }).find("image id 7 is not in images.txt"), std::string::npos);
  put(t.root() / "parts" / "part_locs.txt", "1 3 4.0 3.0 1\n");
  EXPECT_NE(message([&] { read_part_locs(d); }).find("part id 3 is not one of the 2 parts"), std::string::npos);
  put(t.root() / "parts" / "part_locs.txt", "1 1 x 3.0 1\n");
  EXPECT_NE(message([&] { read_part_locs(d); }).find("x 'x' is not a number"), std::string::npos);
  fs::remove(t.root() / "parts" / "part_locs.txt");
  EXPECT_NE(message([&] { read_part_locs(d); }).find("no part keypoints"), std::string::npos);
  put(t.root() / "background_rgb.txt", "1 1 2\n");
  EXPECT_NE(message([&] { read_background_rgb(d); }).find("background_rgb.txt:1:"), std::string::npos);
  const std::string good = " 1 30 20 21 0.1 -0.2 plain 10 20 30 10 20 30 0 0 0 50 0 0 0 0 0 0 0 1 1\n";
  put(t.root() / "style.txt", "1" + good + "2 1 30\n");
  EXPECT_NE(message([&] { read_other_style(d, {}); }).find("style.txt:2:"), std::string::npos);
  put(t.root() / "style.txt", "9" + good);
  EXPECT_NE(message([&] { read_other_style(d, {}); }).find("image id 9 is not in images.txt"), std::string::npos);
  put(t.root() / "style.txt", "1" + std::string(good).replace(good.find("plain"), 5, "leafy"));
  EXPECT_NE(message([&] { read_other_style(d, {}); }).find("background 'leafy'"), std::string::npos);
  put(t.root() / "style.txt", "1" + std::string(good).replace(1, 1, "2"));
  EXPECT_NE(message([&] { read_other_style(d, {}); }).find("facing_right '2'"), std::string::npos);
  put(t.root() / "style.txt", "1" + std::string(good).replace(good.find(" 50 0 ") + 4, 1, "x"));
  EXPECT_NE(message([&] { read_other_style(d, {}); }).find("'x' is not a number"), std::string::npos);
}

TEST(StyleLabels, ImageSizesFromHeaders) {
  Tiny t;
  EXPECT_EQ(image_file_size((t.root() / "images/001.A/a1.png").string()), (std::array<int, 2>{40, 30}));
  EXPECT_EQ(image_file_size((t.root() / "images/001.A/a2.jpg").string()), (std::array<int, 2>{50, 20}));
  put(t.root() / "junk.png", "not an image at all");
  EXPECT_THROW(image_file_size((t.root() / "junk.png").string()), InputError);
}

TEST(StyleLabels, EstimatesTheBackgroundOutsideTheBox) {
  const Image img = boxed(40, 30, {10, 200, 30}, 10, 5, 16, 16, {200, 0, 0});
  const auto with_box = estimated_background_rgb(img, BoundingBox{10, 5, 16, 16});
  EXPECT_NEAR(with_box[0], 10, 1e-9);
  EXPECT_NEAR(with_box[1], 200, 1e-9);
  EXPECT_NEAR(with_box[2], 30, 1e-9);
  // No box: the outer eighths, which the bird here does not reach.
  const auto border = estimated_background_rgb(img, std::nullopt);
  EXPECT_NEAR(border[1], 200, 1e-9);
  // A box over nearly everything: the border instead.
  const auto big = estimated_background_rgb(img, BoundingBox{0, 0, 39.5f, 29.5f});
  EXPECT_NEAR(big[1], 200, 1e-9);
}

}  // namespace
}  // namespace t2i::data
