// tensor-to-png: a tensor stream of images in, one PNG per record out.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "cli.h"
#include "error.h"
#include "image.h"
#include "log.h"
#include "progress.h"
#include "stream.h"

namespace {

namespace fs = std::filesystem;

// The file a key maps to: '/' in a key makes subdirectories (or '_' with --flat); keys that
// would leave the output directory are refused.
fs::path path_for(const fs::path& dir, const std::string& key, bool flat) {
  std::string name = key;
  if (flat) std::replace(name.begin(), name.end(), '/', '_');
  fs::path rel(name);
  if (rel.is_absolute()) t2i::fail<t2i::InputError>("key '{}' is an absolute path", t2i::printable_key(key));
  for (const auto& part : rel)
    if (part == ".." || part == ".")
      t2i::fail<t2i::InputError>("key '{}' has a '.' or '..' component; refusing to write outside the directory",
                                 t2i::printable_key(key));
  return dir / (name + ".png");
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "tensor-to-png",
      .purpose = "write each image record of a tensor stream as a PNG file named by its key",
      .usage = "tensor-to-png [options] <dir> < <stream-in>",
      .example = "generate -m gan.st -n 4 < emb.t2i | tensor-to-png samples/\n"
                 "png-to-tensor in/ | tensor-to-png out/      # out/ holds the same pixels as in/",
      .see_also = "png-to-tensor(1), montage(1), t2i-stream(5)",
  });
  std::string in_path = "-";
  bool flat = false;
  cli.options().add_options()
      ("input,i", t2i::po::value(&in_path)->default_value(in_path), "input stream ('-': stdin)")
      ("flat", t2i::po::bool_switch(&flat), "replace '/' in keys by '_' instead of making subdirectories");
  return cli.run(argc, argv, [&] {
    cli.expect_args(1, 1);
    const fs::path dir = cli.args()[0];
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) t2i::fail<t2i::RuntimeError>("{}: cannot create directory: {}", dir.string(), ec.message());

    t2i::StreamReader reader(in_path);
    t2i::Progress progress("writing PNGs", 0);
    t2i::Record rec;
    while (reader.next(&rec)) {
      fs::path path = path_for(dir, rec.key, flat);
      t2i::Image image = t2i::tensor_to_image(rec.tensor, fmt::format("{}: key '{}'", reader.name(), t2i::printable_key(rec.key)));
      fs::create_directories(path.parent_path(), ec);
      if (ec) t2i::fail<t2i::RuntimeError>("{}: cannot create directory: {}", path.parent_path().string(), ec.message());
      t2i::write_png(image, path.string());
      progress.add();
    }
    progress.finish();
    t2i::log::info("wrote {} PNGs to {}", reader.records(), dir.string());
    return 0;
  });
}
