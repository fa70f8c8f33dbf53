// bench-gan: how fast one GAN-CLS training iteration and generator inference run here.
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "cli.h"
#include "error.h"
#include "log.h"
#include "nn/gan_step.h"
#include "nn/profile.h"
#include "nn/ref_backend.h"

namespace {

using namespace t2i;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

nn::Array random_array(nn::Backend& be, const Shape& shape, nn::Rng& rng, bool uniform) {
  Tensor t(DType::kFloat32, shape);
  for (float& v : t.span<float>()) v = uniform ? static_cast<float>(2 * rng.uniform() - 1) : static_cast<float>(rng.normal());
  return nn::upload(be, t);
}

// Where the time goes: one row per layer and pass, slowest first, per iteration.
void print_layers(const char* what, const std::map<std::string, nn::ProfileEntry>& entries, int iters, double per_iter_s) {
  std::vector<std::pair<std::string, nn::ProfileEntry>> rows(entries.begin(), entries.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  double total = 0;
  std::string table = fmt::format("{}:\n{:<18} {:>6} {:>10} {:>8} {:>9}\n", what, "layer op", "calls", "ms/iter", "GFLOP", "GFLOP/s");
  for (const auto& [k, e] : rows) {
    total += e.seconds;
    table += fmt::format("{:<18} {:>6} {:>10.2f} {:>8.2f} {:>9.1f}\n", k, e.calls / iters, 1e3 * e.seconds / iters,
                         static_cast<double>(e.flops) / 1e9 / iters, e.seconds > 0 ? e.flops / 1e9 / e.seconds : 0.0);
  }
  table += fmt::format("{:<18} {:>6} {:>10.2f}\n", "layers total", "", 1e3 * total / iters);
  table += fmt::format("{:<18} {:>6} {:>10.2f}   (activations, plumbing, losses, optimiser, copies)\n\n", "other", "",
                       1e3 * (per_iter_s - total / iters));
  std::fputs(table.c_str(), stderr);
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  t2i::Cli cli({
      .name = "bench-gan",
      .purpose = "time one GAN-CLS training iteration and generator inference of the paper's networks",
      .usage = "bench-gan [options] > <result-line>",
      .example = "bench-gan --arch plain --batch 64 --iters 5\n"
                 "bench-gan --arch v2 --layers 2> layers.txt      # per-layer table on stderr\n"
                 "tests/torch/run-bench-compare                    # against PyTorch, same machine, same run",
      .see_also = "t2i-stream(5)",
  });
  std::string arch_text = "plain";
  int batch = 64, iters = 5, warmup = 2;
  long ngf = 0, ndf = 64;
  bool layers = false, augment = false;
  cli.options().add_options()
      ("arch", po::value(&arch_text)->default_value(arch_text), "plain (the paper's nets) or v2 (the authors' residual nets)")
      ("batch", po::value(&batch)->default_value(batch), "images per iteration")
      ("ngf", po::value(&ngf)->default_value(ngf), "generator width (0: 64 for plain, 128 for v2)")
      ("ndf", po::value(&ndf)->default_value(ndf), "discriminator width")
      ("iters", po::value(&iters)->default_value(iters), "timed iterations")
      ("warmup", po::value(&warmup)->default_value(warmup), "untimed iterations first (primitive creation, allocation)")
      ("augment", po::bool_switch(&augment), "with train-gan --augment translation,cutout (fresh draws each iteration, in the time)")
      ("layers", po::bool_switch(&layers), "print where the time goes, per layer, on stderr");
  cli.add_compute_options();
  return cli.run(argc, argv, [&] {
    cli.expect_args(0, 0);
    if (batch < 2 || batch > 4096) fail<UsageError>("--batch {}: expected 2 to 4096 (batch norm needs 2)", batch);
    if (iters < 1 || warmup < 0) fail<UsageError>("--iters must be >= 1 and --warmup >= 0");
    nn::GanConfig cfg;
    cfg.arch = nn::arch_from_name(arch_text);
    cfg.ngf = ngf > 0 ? ngf : (cfg.arch == nn::Arch::kPlain ? 64 : 128);
    cfg.ndf = ndf;
    if (cfg.ndf < 4 || cfg.ngf < 4) fail<UsageError>("--ngf and --ndf must be at least 4");
    const auto& compute = cli.compute();
    auto be = nn::make_backend(backend_name(compute.backend));
    nn::Generator g(cfg);
    nn::Discriminator d(cfg);
    g.bind(*be);
    d.bind(*be);
    g.params().init(compute.seed);
    d.params().init(compute.seed + 1);
    nn::GanStepOptions opt = nn::variant_options(nn::GanVariant::kCls);
    if (augment) opt.aug_shift = 8, opt.aug_cut = 32;
    nn::GanClsStep step(*be, g, d, opt);
    nn::Rng rng(compute.seed + 2);
    const nn::i64 n = batch;
    nn::Array x = random_array(*be, {n, 3, 64, 64}, rng, true), h = random_array(*be, {n, cfg.emb_dim}, rng, false),
              hw = random_array(*be, {n, cfg.emb_dim}, rng, false), z = random_array(*be, {n, cfg.z_dim}, rng, false);
    log::info("{} nets, ngf {}, ndf {}, batch {}, backend {}, {} G + {} D parameters", arch_text, cfg.ngf, cfg.ndf, batch,
              be->name(), g.params().size(), d.params().size());

    auto& prof = nn::Profile::get();
    if (layers) prof.sync = [&be] { be->synchronize(); };  // device time per layer, not launch time
    std::vector<double> times;
    std::int64_t flops = 0;
    for (int i = 0; i < warmup + iters; ++i) {
      const bool timed = i >= warmup;
      if (i == warmup) prof.entries.clear();  // the per-layer account covers the timed iterations
      prof.total_flops = 0;
      prof.enabled = timed && layers;
      auto t0 = Clock::now();
      if (augment) {
        auto below = [&rng](int k) { return static_cast<int>(rng.below(k)); };
        step.set_augment({nn::draw_shift_cutout(n, 64, 8, below), nn::draw_shift_cutout(n, 64, 8, below),
                          nn::draw_shift_cutout(n, 64, 8, below), nn::draw_shift_cutout(n, 64, 8, below), {}});
      }
      nn::StepLosses l = step.run(x, h, hw, z);
      // The step is done when G's Adam update is: a device backend may still be running it
      // (the loss reads only wait for D's side), so read back one updated weight.
      float last = 0;
      be->download(be->view(g.params().data(), 0, {1}), &last);
      double s = seconds_since(t0);
      if (!std::isfinite(l.loss_d) || !std::isfinite(l.loss_g)) fail<RuntimeError>("losses went non-finite");
      log::info("iteration {}{}: {:.3f} s, L_D {:.4f}, L_G {:.4f}", i + 1, timed ? "" : " (warm-up)", s, l.loss_d, l.loss_g);
      if (timed) times.push_back(s);
      flops = prof.total_flops;
    }
    std::map<std::string, nn::ProfileEntry> per_layer = prof.entries;
    prof.enabled = false;

    // Generator inference: batch-norm with running statistics, no backward.
    std::vector<double> gen;
    for (int i = 0; i < warmup + iters; ++i) {
      if (i == warmup) prof.entries.clear();
      prof.enabled = i >= warmup && layers;
      auto t0 = Clock::now();
      const nn::Array& img = g.forward(0, z, h, /*training=*/false);
      std::vector<float> host = nn::to_vector(*be, img);  // the images must reach the host
      double s = seconds_since(t0);
      if (i >= warmup) gen.push_back(static_cast<double>(n) / s);
    }
    std::map<std::string, nn::ProfileEntry> gen_layers = prof.entries;
    prof.enabled = false;
    prof.sync = nullptr;  // it refers to this backend

    const double med = median(times), best = *std::min_element(times.begin(), times.end());
    fmt::print("bench\timpl=t2igan\tbackend={}\tarch={}\tbatch={}\tthreads={}\titer_median_s={:.4f}\titer_best_s={:.4f}"
               "\tgen_images_per_s={:.1f}\tpeak_rss_mib={:.0f}\tgflop_per_iter={:.1f}\tgflops={:.1f}{}\n",
               be->name(), arch_text, batch, compute.threads, med, best, median(gen), peak_rss_mib(), flops / 1e9,
               flops / 1e9 / med, augment ? "\taugment=translation,cutout" : "");

    if (layers) {
      print_layers("training iteration", per_layer, iters, med);
      print_layers("generator inference", gen_layers, iters, static_cast<double>(n) / median(gen));
    }
    return 0;
  });
}
