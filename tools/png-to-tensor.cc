// png-to-tensor: PNG and JPEG files in, a tensor stream of images out.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "cli.h"
#include "error.h"
#include "file.h"
#include "image.h"
#include "log.h"
#include "parallel.h"
#include "progress.h"
#include "stream.h"

namespace {

namespace fs = std::filesystem;
using namespace t2i;

struct Input {
  std::string path;
  std::string key;
};

bool is_image_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::string strip_extension(const fs::path& p) { return (p.parent_path() / p.stem()).generic_string(); }

// Files are keyed by their name without extension; files found under a directory by their path
// relative to it ("001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111").
std::vector<Input> collect(const std::vector<std::string>& args, const std::string& list_file) {
  std::vector<Input> inputs;
  std::vector<std::string> paths = args;
  if (!list_file.empty())
    for (std::string& line : read_lines(list_file))
      if (!line.empty()) paths.push_back(std::move(line));
  for (const std::string& arg : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(arg, ec);
    if (ec || !fs::exists(st)) fail<InputError>("{}: no such file or directory", arg);
    if (fs::is_directory(st)) {
      std::vector<Input> found;
      for (auto it = fs::recursive_directory_iterator(arg, fs::directory_options::follow_directory_symlink, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file() && is_image_name(it->path()))
          found.push_back({it->path().string(), strip_extension(fs::relative(it->path(), arg))});
      }
      if (ec) fail<InputError>("{}: cannot list: {}", arg, ec.message());
      std::sort(found.begin(), found.end(), [](const Input& a, const Input& b) { return a.key < b.key; });
      if (found.empty()) log::warn("{}: no .png, .jpg or .jpeg files found", arg);
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else {
      inputs.push_back({arg, fs::path(arg).stem().string()});
    }
  }
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "png-to-tensor",
      .purpose = "read PNG and JPEG images into a tensor stream of uint8 [C,H,W] (or float32 in [-1,1]) arrays",
      .usage = "png-to-tensor [options] <image-or-dir>... > <stream-out>",
      .example = "png-to-tensor --size 76 --channels 3 data/birds/images > images.t2i\n"
                 "png-to-tensor a.png b.png | tensor-to-png out/",
      .see_also = "tensor-to-png(1), montage(1), tensor-info(1), t2i-stream(5)",
  });
  std::string out_path = "-", size_text, list_file, key_prefix, dtype_text = "uint8";
  int channels = 0;
  cli.options().add_options()
      ("output,o", t2i::po::value(&out_path)->default_value(out_path), "output stream ('-': stdout)")
      ("size", t2i::po::value(&size_text), "resize every image to N x N or W x H by area averaging")
      ("channels", t2i::po::value(&channels)->default_value(channels), "convert to 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels; 0 keeps each file's")
      ("dtype", t2i::po::value(&dtype_text)->default_value(dtype_text), "uint8 [C,H,W], or float32 [C,H,W] scaled to [-1,1]")
      ("list", t2i::po::value(&list_file), "also read image paths (or directories) from this file, one per line")
      ("key-prefix", t2i::po::value(&key_prefix), "prepend this to every key");
  cli.add_threads_option();
  return cli.run(argc, argv, [&] {
    int width = 0, height = 0;
    if (!size_text.empty()) t2i::parse_size(size_text, "size", &width, &height);
    if (channels < 0 || channels > 4) t2i::fail<t2i::UsageError>("--channels {}: expected 0, 1, 2, 3 or 4", channels);
    if (dtype_text != "uint8" && dtype_text != "float32")
      t2i::fail<t2i::UsageError>("--dtype '{}': expected uint8 or float32", dtype_text);
    if (cli.args().empty() && list_file.empty()) t2i::fail<t2i::UsageError>("no images given");
    std::vector<Input> inputs = collect(cli.args(), list_file);

    // Decode on every core, write in input order.
    t2i::StreamWriter writer(out_path);
    t2i::Progress progress("reading images", inputs.size());
    t2i::ordered_parallel<t2i::Tensor>(
        inputs.size(), 256,
        [&](std::size_t i) {
          t2i::Image image = t2i::read_image(inputs[i].path);
          if (channels) image = t2i::convert_channels(image, channels);
          if (width) image = t2i::resize_area(image, width, height);
          return dtype_text == "uint8" ? t2i::image_to_tensor(image) : t2i::image_to_float_tensor(image);
        },
        [&](std::size_t i, t2i::Tensor t) {
          std::string key = key_prefix + inputs[i].key;
          if (auto problem = t2i::key_problem(key); !problem.empty())
            t2i::fail<t2i::InputError>("{}: cannot use '{}' as a key: {}", inputs[i].path, t2i::printable_key(key), problem);
          writer.write(key, t);
          progress.add();
        });
    writer.close();
    progress.finish();
    t2i::log::info("wrote {} images to {}", writer.records(), writer.name());
    return 0;
  });
}
