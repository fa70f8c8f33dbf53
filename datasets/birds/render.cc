// The bird rasteriser: shapes (intersections of ellipses, polygons and half-planes) in the
// bird's own coordinates, filled on a canvas `supersample` times larger than the image with one
// sample per canvas pixel, then area-averaged down, which anti-aliases every edge.
//
// Model coordinates: y down, the bird faces +x, the body's half-length is 1 unit.
#include <algorithm>
#include <cmath>

#include "birds/birds.h"

namespace t2i::birds {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Pt {
  double x = 0, y = 0;
};
Pt operator+(Pt a, Pt b) { return {a.x + b.x, a.y + b.y}; }
Pt operator-(Pt a, Pt b) { return {a.x - b.x, a.y - b.y}; }
Pt operator*(double s, Pt a) { return {s * a.x, s * a.y}; }
Pt rot(Pt p, double a) { return {p.x * std::cos(a) - p.y * std::sin(a), p.x * std::sin(a) + p.y * std::cos(a)}; }

// A frame: origin, rotation and unit length, for placing parts relative to others.
struct Frame {
  Pt o;
  double angle = 0, unit = 1;
  Pt at(double u, double v) const { return o + unit * rot({u, v}, angle); }
  Pt dir(double u, double v) const { return rot({u, v}, angle); }
};

struct Prim {
  enum Kind { kEllipse, kPolygon, kHalfPlane } kind = kEllipse;
  Pt c;
  double rx = 1, ry = 1, angle = 0;  // ellipse
  double ca = 1, sa = 0, irx2 = 1, iry2 = 1;  // cos, sin of angle; 1/rx^2, 1/ry^2
  std::vector<Pt> poly;              // polygon (even-odd)
  Pt n;                              // half-plane: n . p <= d
  double d = 0;

  bool inside(Pt p) const {
    switch (kind) {
      case kEllipse: {
        double dx = p.x - c.x, dy = p.y - c.y;
        double qx = ca * dx + sa * dy, qy = -sa * dx + ca * dy;
        return qx * qx * irx2 + qy * qy * iry2 <= 1;
      }
      case kPolygon: {
        bool in = false;
        for (std::size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
          const Pt &a = poly[i], &b = poly[j];
          if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x) in = !in;
        }
        return in;
      }
      case kHalfPlane:
        return n.x * p.x + n.y * p.y <= d;
    }
    return false;
  }
  // Points whose hull holds the primitive (none for a half-plane).
  void outline(std::vector<Pt>* out) const {
    if (kind == kEllipse)
      for (int i = 0; i < 16; ++i) {
        double t = 2 * kPi * i / 16;
        out->push_back(c + rot({rx * std::cos(t) / std::cos(kPi / 16), ry * std::sin(t) / std::cos(kPi / 16)}, angle));
      }
    else if (kind == kPolygon)
      out->insert(out->end(), poly.begin(), poly.end());
  }
};

Prim ellipse(Pt c, double rx, double ry, double angle = 0) {
  Prim p;
  p.kind = Prim::kEllipse;
  p.c = c, p.rx = rx, p.ry = ry, p.angle = angle;
  p.ca = std::cos(angle), p.sa = std::sin(angle), p.irx2 = 1 / (rx * rx), p.iry2 = 1 / (ry * ry);
  return p;
}
Prim circle(Pt c, double r) { return ellipse(c, r, r); }
Prim polygon(std::vector<Pt> pts) {
  Prim p;
  p.kind = Prim::kPolygon;
  p.poly = std::move(pts);
  return p;
}
// The side of the line through `at` away from `outward` (a direction).
Prim half_plane(Pt at, Pt outward) {
  Prim p;
  p.kind = Prim::kHalfPlane;
  p.n = outward;
  p.d = outward.x * at.x + outward.y * at.y;
  return p;
}
// A thick segment.
Prim segment(Pt a, Pt b, double width) {
  Pt d = b - a;
  double len = std::hypot(d.x, d.y);
  Pt n = (0.5 * width / len) * Pt{-d.y, d.x};
  return polygon({a + n, b + n, b - n, a - n});
}

using Rgb = std::array<double, 3>;

struct Shape {
  std::vector<Prim> all;  // intersection
  Rgb colour{};
  std::uint8_t label = kLabelBody;
};

// Model to canvas: mirror, rotate, scale, translate.
struct Transform {
  double s = 1, c = 1, sn = 0, mirror = 1, tx = 0, ty = 0;
  Pt apply(Pt p) const {
    double x = mirror * p.x;
    return {tx + s * (c * x - sn * p.y), ty + s * (sn * x + c * p.y)};
  }
  Pt inverse(Pt q) const {
    double dx = (q.x - tx) / s, dy = (q.y - ty) / s;
    return {mirror * (c * dx + sn * dy), -sn * dx + c * dy};
  }
};

// The supersampled canvas: RGB and a label per sample. Its buffers are kept per thread, so that
// rendering thousands of images does not allocate (and page-fault) a megabyte for each.
struct Canvas {
  int w = 0, h = 0;
  std::vector<std::uint8_t>& rgb;
  std::vector<std::uint8_t>& label;
  Canvas(int width, int height, std::vector<std::uint8_t>& rgb_buf, std::vector<std::uint8_t>& label_buf)
      : w(width), h(height), rgb(rgb_buf), label(label_buf) {
    rgb.assign(static_cast<std::size_t>(width) * height * 3, 0);
    label.assign(static_cast<std::size_t>(width) * height, 0);
  }

  void fill(const Shape& shape, const Transform& t) {
    std::vector<Pt> pts;
    // The tightest bounds of the bounded primitives.
    double x0 = -1e9, y0 = -1e9, x1 = 1e9, y1 = 1e9;
    for (const Prim& p : shape.all) {
      pts.clear();
      p.outline(&pts);
      if (pts.empty()) continue;
      double a0 = 1e9, b0 = 1e9, a1 = -1e9, b1 = -1e9;
      for (Pt q : pts) {
        Pt r = t.apply(q);
        a0 = std::min(a0, r.x), a1 = std::max(a1, r.x), b0 = std::min(b0, r.y), b1 = std::max(b1, r.y);
      }
      x0 = std::max(x0, a0), x1 = std::min(x1, a1), y0 = std::max(y0, b0), y1 = std::min(y1, b1);
    }
    int ix0 = std::max(0, static_cast<int>(std::floor(x0))), ix1 = std::min(w - 1, static_cast<int>(std::ceil(x1)));
    int iy0 = std::max(0, static_cast<int>(std::floor(y0))), iy1 = std::min(h - 1, static_cast<int>(std::ceil(y1)));
    if (ix0 > ix1 || iy0 > iy1) return;
    std::uint8_t c[3];
    for (int k = 0; k < 3; ++k) c[k] = static_cast<std::uint8_t>(std::clamp(std::lround(shape.colour[k]), 0L, 255L));
    // The model point of a sample moves by a constant step along a row.
    const Pt origin = t.inverse({0.5, 0.5});
    const Pt step = t.inverse({1.5, 0.5}) - origin;
    const Pt down = t.inverse({0.5, 1.5}) - origin;
    for (int y = iy0; y <= iy1; ++y) {
      Pt m = origin + static_cast<double>(ix0) * step + static_cast<double>(y) * down;
      for (int x = ix0; x <= ix1; ++x, m = m + step) {
        bool in = true;
        for (const Prim& p : shape.all)
          if (!p.inside(m)) {
            in = false;
            break;
          }
        if (!in) continue;
        std::size_t i = static_cast<std::size_t>(y) * w + x;
        rgb[i * 3] = c[0], rgb[i * 3 + 1] = c[1], rgb[i * 3 + 2] = c[2];
        label[i] = shape.label;
      }
    }
  }
};

Rgb jitter_colour(int colour, Rng& rng) {
  auto base = colour_rgb(colour);
  double f = rng.uniform(0.88, 1.1);
  Rgb c;
  for (int k = 0; k < 3; ++k) c[k] = std::clamp(base[k] * f + rng.uniform(-10, 10), 0.0, 255.0);
  return c;
}
Rgb shade(Rgb c, double f) { return {c[0] * f, c[1] * f, c[2] * f}; }

// Occasionally an image differs from its species in one attribute.
Attributes vary(Attributes a, Rng& rng) {
  if (!rng.chance(0.1)) return a;
  switch (rng.below(8)) {
    case 0: case 1: case 2: {
      int part = rng.below(kNumColourParts);
      a.colour[part] = static_cast<std::uint8_t>((a.colour[part] + 1 + rng.below(kNumColours - 1)) % kNumColours);
      break;
    }
    case 3: a.pattern = static_cast<WingPattern>((static_cast<int>(a.pattern) + 1 + rng.below(2)) % 3); break;
    case 4: a.beak_length = static_cast<Length>((static_cast<int>(a.beak_length) + 1 + rng.below(2)) % 3); break;
    case 5: a.tail_length = static_cast<Length>((static_cast<int>(a.tail_length) + 1 + rng.below(2)) % 3); break;
    case 6: a.shape = a.shape == BodyShape::kSlim ? BodyShape::kRound : BodyShape::kSlim; break;
    default: a.eye_ring = !a.eye_ring; break;
  }
  if (a.pattern != WingPattern::kPlain && a.mark == a.colour[kWing])
    a.mark = static_cast<std::uint8_t>(a.colour[kWing] == kWhite ? kBlack : kWhite);
  return a;
}

Rgb random_backdrop(Rng& rng) {
  // Muted, fairly light colours of any hue, as photographs of foliage, water and sky are.
  double h = rng.uniform(0, 6), s = rng.uniform(0.1, 0.5), v = rng.uniform(0.45, 0.95);
  int i = static_cast<int>(h);
  double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  Rgb c;
  switch (i) {
    case 0: c = {v, t, p}; break;
    case 1: c = {q, v, p}; break;
    case 2: c = {p, v, t}; break;
    case 3: c = {p, q, v}; break;
    case 4: c = {t, p, v}; break;
    default: c = {v, p, q}; break;
  }
  return {c[0] * 255, c[1] * 255, c[2] * 255};
}

}  // namespace

RenderedBird render_bird(const Species& species, int size, Rng& rng, int supersample) {
  RenderedBird out;
  const Attributes a = vary(species.prototype, rng);
  out.attributes = a;
  Style& st = out.style;

  // ---- The bird in model units. ----
  const double ry = a.shape == BodyShape::kSlim ? 0.5 : 0.66;
  const double head_r = a.size == BodySize::kSmall ? 0.56 : a.size == BodySize::kMedium ? 0.49 : 0.42;
  const double leg_len = a.size == BodySize::kSmall ? 0.3 : a.size == BodySize::kMedium ? 0.42 : 0.6;
  const double body_angle = -0.38 + rng.uniform(-0.06, 0.06);
  st.head_turn = rng.uniform(-0.3, 0.25);
  const Frame body{{0, 0}, body_angle, 1};
  const Frame head{body.at(0.88, -ry * 0.95), st.head_turn - 0.05, head_r};
  const Frame wingf{body.at(-0.28, -0.12 * ry), body_angle + 0.14, 1};

  Rgb col[kNumColourParts];
  for (int p = 0; p < kNumColourParts; ++p) col[p] = jitter_colour(a.colour[p], rng);
  Rgb mark = jitter_colour(a.mark, rng);
  Rgb leg_col = shade(jitter_colour(rng.chance(0.5) ? kBrown : kGrey, rng), 0.6);

  std::vector<Shape> shapes;
  auto add = [&](std::vector<Prim> prims, Rgb c, std::uint8_t label) { shapes.push_back({std::move(prims), c, label}); };

  // Legs (both: the far one darker, behind), from under the body to the feet.
  Pt hip_near = body.at(0.18, 0.55 * ry), hip_far = body.at(-0.12, 0.55 * ry);
  double body_bottom = std::max(hip_near.y, hip_far.y) + 0.15;
  Pt foot_near{hip_near.x + 0.06, body_bottom + leg_len}, foot_far{hip_far.x + 0.02, body_bottom + leg_len - 0.03};
  for (int k = 0; k < 2; ++k) {
    Pt hip = k ? hip_near : hip_far, foot = k ? foot_near : foot_far;
    Rgb c = k ? leg_col : shade(leg_col, 0.75);
    add({segment(hip, foot, 0.085)}, c, kLabelLeg);
    add({segment(foot + Pt{-0.12, 0}, foot + Pt{0.26, 0.02}, 0.07)}, c, kLabelLeg);
  }

  // Tail: a fan behind the body, drooping a little.
  const double tail_len = a.tail_length == Length::kShort ? 0.45 : a.tail_length == Length::kMedium ? 0.85 : 1.35;
  {
    std::vector<Pt> t = {body.at(-0.55, -0.32 * ry), body.at(-0.6, 0.25 * ry),
                         body.at(-0.75 - tail_len, 0.2 * ry + 0.45 * tail_len),
                         body.at(-0.8 - tail_len * 1.02, 0.05 * ry + 0.3 * tail_len),
                         body.at(-0.75 - tail_len, -0.12 * ry + 0.15 * tail_len)};
    add({polygon(t)}, col[kTail], kLabelTail);
  }

  // Body, belly and breast (the underside, rear and front), then the wing over the back.
  const Prim body_e = ellipse(body.o, 1.0, ry, body_angle);
  add({body_e}, shade(col[kWing], 0.92), kLabelBody);
  add({body_e, half_plane(body.at(0, 0.05 * ry), body.dir(0, -1)), half_plane(body.at(0.3, 0), body.dir(1, 0))}, col[kBelly], kLabelBelly);
  add({body_e, half_plane(body.at(0, -0.2 * ry), body.dir(0, -1)), half_plane(body.at(0.05, 0), body.dir(-1, 0))}, col[kBreast], kLabelBreast);

  const Prim wing_e = ellipse(wingf.o, 0.88, 0.36 * ry / 0.55, wingf.angle);
  add({wing_e}, col[kWing], kLabelWing);
  add({wing_e, half_plane(wingf.at(0, 0.12 * ry / 0.55), wingf.dir(0, -1))}, shade(col[kWing], 0.85), kLabelWing);  // primaries
  if (a.pattern == WingPattern::kBars) {
    for (double u : {0.2, -0.2}) {
      add({wing_e, half_plane(wingf.at(u + 0.07, 0), wingf.dir(1, 0)), half_plane(wingf.at(u - 0.07, 0), wingf.dir(-1, 0))}, mark, kLabelMark);
    }
  } else if (a.pattern == WingPattern::kSpots) {
    const double spots[][2] = {{0.45, -0.08}, {0.15, -0.12}, {-0.15, -0.1}, {0.3, 0.12}, {0.0, 0.1}, {-0.3, 0.08}, {-0.5, -0.05}};
    for (auto& s : spots) add({wing_e, circle(wingf.at(s[0], s[1] * ry / 0.55), 0.075)}, mark, kLabelMark);
  }

  // Head: throat and neck, then the head, crown cap, eye and beak.
  add({ellipse(head.at(0.1, 0.6), 0.62 * head_r, 0.55 * head_r, head.angle)}, col[kThroat], kLabelThroat);
  const Prim head_c = circle(head.o, head_r);
  add({head_c}, col[kHead], kLabelHead);
  add({head_c, half_plane(head.at(0, 0.35), head.dir(0, -1)), half_plane(head.at(-0.2, 0), head.dir(1, 0))}, col[kThroat], kLabelThroat);
  add({head_c, half_plane(head.at(0, -0.3), head.dir(-0.2, 1))}, col[kCrown], kLabelCrown);
  const Pt eye = head.at(0.32, -0.12);
  if (a.eye_ring) add({circle(eye, 0.27 * head_r)}, jitter_colour(kWhite, rng), kLabelEye);
  add({circle(eye, 0.16 * head_r)}, {15, 15, 15}, kLabelEye);
  add({circle(head.at(0.36, -0.17), 0.05 * head_r)}, {235, 235, 235}, kLabelEye);

  const double bl = a.beak_length == Length::kShort ? 0.5 : a.beak_length == Length::kMedium ? 0.85 : 1.35;
  const double v0 = 0.12;
  std::vector<Pt> beak;
  Pt beak_kp = head.at(0.92 + 0.3 * bl, v0);
  switch (a.beak_shape) {
    case BeakShape::kPointed:
      beak = {head.at(0.8, v0 - 0.2), head.at(1.0 + bl, v0 + 0.03), head.at(0.8, v0 + 0.2)};
      break;
    case BeakShape::kCone:
      beak = {head.at(0.75, v0 - 0.34), head.at(0.95 + 0.75 * bl, v0 + 0.04), head.at(0.75, v0 + 0.36)};
      beak_kp = head.at(0.92 + 0.2 * bl, v0);
      break;
    case BeakShape::kHooked:
      beak = {head.at(0.8, v0 - 0.26), head.at(0.9 + 0.8 * bl, v0 - 0.14), head.at(1.0 + bl, v0 + 0.02),
              head.at(0.95 + 0.95 * bl, v0 + 0.26), head.at(0.88 + 0.75 * bl, v0 + 0.1), head.at(0.8, v0 + 0.24)};
      break;
    case BeakShape::kCurved: {
      std::vector<Pt> lower;
      for (int i = 0; i <= 8; ++i) {
        double t = i / 8.0, u = 0.8 + t * (0.2 + bl), v = v0 + 0.45 * bl * t * t, hw = 0.19 * (1 - t) + 0.02;
        beak.push_back(head.at(u, v - hw));
        lower.push_back(head.at(u, v + hw));
      }
      beak.insert(beak.end(), lower.rbegin(), lower.rend());
      beak_kp = head.at(0.8 + 0.45 * (0.2 + bl), v0 + 0.45 * bl * 0.2);
      break;
    }
  }
  add({polygon(beak)}, col[kBeak], kLabelBeak);
  // Beak line: the gape, a thin dark stroke.
  add({polygon(beak), segment(head.at(0.8, v0), head.at(1.0 + bl, v0 + (a.beak_shape == BeakShape::kCurved ? 0.45 * bl : 0.03)), 0.035)},
      shade(col[kBeak], 0.55), kLabelBeak);

  // ---- Style: pose and placement. ----
  st.facing_right = rng.chance(0.5);
  st.tilt = rng.uniform(-0.15, 0.15);
  const int ss = supersample;
  Transform t;
  t.mirror = st.facing_right ? 1 : -1;
  t.c = std::cos(st.tilt), t.sn = std::sin(st.tilt);
  {
    std::vector<Pt> pts;
    for (const Shape& s : shapes)
      for (const Prim& p : s.all) p.outline(&pts);
    double x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9;
    for (Pt p : pts) {
      Pt q = t.apply(p);
      x0 = std::min(x0, q.x), x1 = std::max(x1, q.x), y0 = std::min(y0, q.y), y1 = std::max(y1, q.y);
    }
    double fill = a.size == BodySize::kSmall ? rng.uniform(0.55, 0.72) : a.size == BodySize::kMedium ? rng.uniform(0.65, 0.82) : rng.uniform(0.74, 0.9);
    double s = fill * size / std::max(x1 - x0, y1 - y0);
    double w = (x1 - x0) * s, h = (y1 - y0) * s;
    double px = rng.uniform(0.03 * size, std::max(0.03 * size, 0.97 * size - w));
    double py = rng.uniform(0.03 * size, std::max(0.03 * size, 0.97 * size - h));
    st.scale = s;
    t.s = s * ss;
    t.tx = (px - x0 * s) * ss;
    t.ty = (py - y0 * s) * ss;
    st.cx = t.tx / ss, st.cy = t.ty / ss;
  }

  // ---- Background, scenery, then the bird. ----
  const int W = size * ss;
  static thread_local std::vector<std::uint8_t> rgb_buf, label_buf;
  Canvas canvas(W, W, rgb_buf, label_buf);
  st.background = static_cast<Background>(rng.below(3));
  st.bg_top = random_backdrop(rng);
  st.bg_bottom = st.background == Background::kPlain ? st.bg_top : random_backdrop(rng);
  st.ground = shade(random_backdrop(rng), 0.8);
  st.horizon_y = rng.uniform(0.45, 0.85) * size;
  for (int y = 0; y < W; ++y) {
    double f = (y + 0.5) / W;
    Rgb c;
    for (int k = 0; k < 3; ++k) c[k] = st.bg_top[k] * (1 - f) + st.bg_bottom[k] * f;
    if (st.background == Background::kHorizon && y >= st.horizon_y * ss) {
      double g = (y - st.horizon_y * ss) / W;
      c = shade(st.ground, 0.85 + 0.5 * g);
    }
    std::uint8_t px[3];
    for (int k = 0; k < 3; ++k) px[k] = static_cast<std::uint8_t>(std::clamp(std::lround(c[k]), 0L, 255L));
    for (int x = 0; x < W; ++x) std::copy(px, px + 3, &canvas.rgb[(static_cast<std::size_t>(y) * W + x) * 3]);
  }
  st.branch = rng.chance(0.5);
  if (st.branch) {
    Pt fa = t.apply(foot_near), fb = t.apply(foot_far);
    double slope = std::tan(st.tilt) + rng.uniform(-0.04, 0.04);  // the line under the feet
    const double half_width = rng.uniform(0.05, 0.09) * size * ss / 2.0 + 0.04 * t.s;  // in samples
    st.branch_width = 2 * half_width / ss;
    st.branch_slope = slope;
    st.branch_y = ((fa.y + fb.y) / 2 + half_width * 0.5) / ss;
    st.branch_rgb = shade(jitter_colour(rng.chance(0.7) ? kBrown : kGrey, rng), rng.uniform(0.6, 0.9));
    double mid_x = (fa.x + fb.x) / 2, by = st.branch_y * ss;
    Shape b{{segment({-10.0, by + slope * (-10 - mid_x)}, {W + 10.0, by + slope * (W + 10 - mid_x)}, 2 * half_width)},
            st.branch_rgb, kLabelBackground};
    canvas.fill(b, Transform{});
  }
  for (const Shape& s : shapes) canvas.fill(s, t);

  // ---- Down to the image: colour by area, the label at each pixel's centre, coverage. ----
  // Area averaging by whole blocks of ss x ss samples (what resize_area computes for an integer
  // factor), with the lighting applied to the averaged colour.
  st.brightness = rng.uniform(-18, 18);
  st.contrast = rng.uniform(0.85, 1.12);
  out.image = Image(size, size, 3);
  {
    std::uint8_t lut[256];
    for (int v = 0; v < 256; ++v)
      lut[v] = static_cast<std::uint8_t>(std::clamp(std::lround((v - 127.5) * st.contrast + 127.5 + st.brightness), 0L, 255L));
    const int area = ss * ss;
    std::vector<int> sums(static_cast<std::size_t>(size) * 3);
    for (int y = 0; y < size; ++y) {
      std::fill(sums.begin(), sums.end(), 0);
      for (int sy = 0; sy < ss; ++sy) {
        const std::uint8_t* row = &canvas.rgb[static_cast<std::size_t>(y * ss + sy) * W * 3];
        for (int x = 0; x < size; ++x)
          for (int sx = 0; sx < ss; ++sx)
            for (int k = 0; k < 3; ++k) sums[x * 3 + k] += row[(x * ss + sx) * 3 + k];
      }
      for (int x = 0; x < size; ++x)
        for (int k = 0; k < 3; ++k) out.image.at(x, y)[k] = lut[(sums[x * 3 + k] + area / 2) / area];
    }
  }

  const std::size_t n = static_cast<std::size_t>(size) * size;
  out.label.assign(n, 0);
  out.coverage.assign(n, 0.f);
  int bx0 = W, by0 = W, bx1 = -1, by1 = -1;
  for (int y = 0; y < W; ++y)
    for (int x = 0; x < W; ++x)
      if (canvas.label[static_cast<std::size_t>(y) * W + x]) {
        out.coverage[static_cast<std::size_t>(y / ss) * size + x / ss] += 1.f / (ss * ss);
        bx0 = std::min(bx0, x), bx1 = std::max(bx1, x), by0 = std::min(by0, y), by1 = std::max(by1, y);
      }
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      out.label[static_cast<std::size_t>(y) * size + x] = canvas.label[static_cast<std::size_t>(y * ss + ss / 2) * W + x * ss + ss / 2];
  if (bx1 >= 0) {
    out.bx = static_cast<double>(bx0) / ss, out.by = static_cast<double>(by0) / ss;
    out.bw = static_cast<double>(bx1 + 1 - bx0) / ss, out.bh = static_cast<double>(by1 + 1 - by0) / ss;
  }
  double sum[3] = {0, 0, 0};
  std::size_t bg = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (out.coverage[i] == 0.f) {
      ++bg;
      for (int k = 0; k < 3; ++k) sum[k] += out.image.pixels[i * 3 + k];
    }
  for (int k = 0; k < 3; ++k) out.background_rgb[k] = bg ? sum[k] / static_cast<double>(bg) : 0;

  // ---- Keypoints, in image pixels. The far eye and wing are hidden. ----
  auto place = [&](int part, Pt p, bool visible) {
    Pt q = t.apply(p);
    out.parts[part - 1] = visible ? Keypoint{q.x / ss, q.y / ss, true} : Keypoint{0, 0, false};
  };
  const bool right = st.facing_right;  // a bird facing the viewer's right shows its right side
  place(1, body.at(-0.25, -0.72 * ry), true);                       // back
  place(2, beak_kp, true);                                          // beak
  place(3, body.at(-0.15, 0.72 * ry), true);                        // belly
  place(4, body.at(0.6, 0.45 * ry), true);                          // breast
  place(5, head.at(-0.05, -0.72), true);                            // crown
  place(6, head.at(0.62, -0.55), true);                             // forehead
  place(7, eye, !right);                                            // left eye
  const Pt leg_far = hip_far + 0.7 * (foot_far - hip_far), leg_near = hip_near + 0.7 * (foot_near - hip_near);
  place(8, right ? leg_far : leg_near, true);                       // left leg
  place(9, wingf.at(-0.1, 0), !right);                              // left wing
  place(10, head.at(-0.72, -0.2), true);                            // nape
  place(11, eye, right);                                            // right eye
  place(12, right ? leg_near : leg_far, true);                      // right leg
  place(13, wingf.at(-0.1, 0), right);                              // right wing
  place(14, body.at(-0.75 - 0.55 * tail_len, 0.05 * ry + 0.28 * tail_len), true);  // tail
  place(15, head.at(0.25, 0.65), true);                             // throat
  return out;
}

}  // namespace t2i::birds
