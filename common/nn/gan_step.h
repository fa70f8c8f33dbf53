// One GAN-CLS training iteration (PAPER.md section 5, Algorithm 1 with the authors' losses):
//   D: s_r = D(x, h), s_w = D(x, h_wrong), s_f = D(G(z, h), h);
//      L_D = bce(s_r, 1) + cls_weight * bce(s_w, 0) + (1 - cls_weight) * bce(s_f, 0); Adam on D.
//   G: s_g = D(G(z, h), h) with the updated D; L_G = bce(s_g, 1); Adam on G.
// cls_weight 0.5 gives the paper's GAN-CLS; the D step then runs three passes, each keeping its
// own activations. (Plain GAN, GAN-INT and the training loop arrive with train-gan.)
#pragma once

#include "nn/gan.h"
#include "nn/optim.h"

namespace t2i::nn {

struct StepLosses {
  float loss_d = 0, loss_g = 0;
};

class GanClsStep {
 public:
  GanClsStep(Backend& be, Generator& g, Discriminator& d, float cls_weight = 0.5f);
  Adam& opt_g() { return opt_g_; }
  Adam& opt_d() { return opt_d_; }

  // x [N,3,64,64], h and h_wrong [N,emb], z [N,z_dim], all on the backend.
  StepLosses run(const Array& x, const Array& h, const Array& h_wrong, const Array& z) {
    float ld = run_d(x, h, h_wrong, z);
    return {ld, run_g(h)};
  }
  // The two halves: G forward and the D update; then the G update through the updated D.
  float run_d(const Array& x, const Array& h, const Array& h_wrong, const Array& z);
  float run_g(const Array& h);

  // What the last run produced, for tests and progress reports.
  const Array& fake() const { return fake_; }
  const Array& logits(int which) const { return logits_[which]; }  // 0 s_r, 1 s_w, 2 s_f, 3 s_g

 private:
  Backend& be_;
  Generator& g_;
  Discriminator& d_;
  float cls_weight_;
  Adam opt_g_, opt_d_;
  Array ones_, zeros_, w_real_, w_wrong_, w_fake_;
  Array fake_, logits_[4], dlogits_[4];  // logits_ are copies, kept after D's slots are reused
};

}  // namespace t2i::nn
