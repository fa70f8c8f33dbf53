#include "nn/gan_checkpoint.h"

#include "error.h"

namespace t2i::nn {

void save_gan(const std::string& path, Generator& g, Discriminator& d, const Adam* opt_g, const Adam* opt_d,
              const std::map<std::string, std::string>& extra_metadata) {
  Checkpoint ck;
  ck.metadata = g.config().to_metadata();
  ck.metadata["model"] = "t2igan-gan";
  for (const auto& [k, v] : extra_metadata) ck.metadata[k] = v;
  g.params().save_to(ck, kGeneratorPrefix);
  d.params().save_to(ck, kDiscriminatorPrefix);
  if (opt_g) opt_g->save_to(ck, std::string("optimizer.") + kGeneratorPrefix);
  if (opt_d) opt_d->save_to(ck, std::string("optimizer.") + kDiscriminatorPrefix);
  ck.save(path);
}

GanConfig gan_config(const Checkpoint& ck) {
  auto it = ck.metadata.find("model");
  if (it == ck.metadata.end() || it->second != "t2igan-gan")
    fail<InputError>("{}: not a t2igan GAN checkpoint (__metadata__ model is not 't2igan-gan')", ck.source());
  try {
    return GanConfig::from_metadata(ck.metadata);
  } catch (const InputError& e) {
    fail<InputError>("{}: {}", ck.source(), e.what());
  }
}

void load_gan(const Checkpoint& ck, Generator& g, Discriminator& d, Adam* opt_g, Adam* opt_d) {
  std::vector<TensorSpec> expected = g.params().specs(kGeneratorPrefix);
  for (auto& s : d.params().specs(kDiscriminatorPrefix)) expected.push_back(std::move(s));
  // Weights must match exactly; optimiser entries are checked when loaded.
  std::vector<TensorSpec> present;
  for (const auto& name : ck.names())
    if (name.rfind("optimizer.", 0) != 0) present.push_back({name, ck.get(name).dtype(), ck.get(name).shape()});
  Checkpoint weights_only;
  weights_only.metadata = ck.metadata;
  for (const auto& s : present) weights_only.add(s.name, ck.get(s.name));
  try {
    weights_only.check(expected);
  } catch (const InputError& e) {
    // Re-raise naming the real file.
    std::string what = e.what();
    fail<InputError>("{}{}", ck.source(), what.substr(what.find(':')));
  }
  g.params().load_from(ck, kGeneratorPrefix);
  d.params().load_from(ck, kDiscriminatorPrefix);
  if (opt_g) opt_g->load_from(ck, std::string("optimizer.") + kGeneratorPrefix);
  if (opt_d) opt_d->load_from(ck, std::string("optimizer.") + kDiscriminatorPrefix);
}

}  // namespace t2i::nn
