// KMeans (Lloyd's algorithm): points are assigned to their nearest center,
// and each center moves to the mean of its points. The first K points are
// the initial centers; the centers travel to executors as a broadcast each
// iteration. The parsed points are cached on the executors.
//
//   ember-submit --master local-cluster[2,1] libkmeans.so POINTS K ITERATIONS
//
// POINTS: lines of whitespace-separated coordinates, the same number on
// every line. Prints each iteration's time and cost (the sum of squared
// distances to the nearest center), then the centers, one per line.
//
// Points of 2 or 3 coordinates are fixed-size arrays, so that reading the
// cached points and summing them allocates nothing; others are vectors.
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ember/ember.h>

namespace {

// from_chars rather than a stream: parsing is most of the first iteration.
std::vector<double> ParseCoordinates(const std::string& line) {
  std::vector<double> p;
  const char* at = line.data();
  const char* end = at + line.size();
  for (;;) {
    while (at < end && (*at == ' ' || *at == '\t' || *at == '\r')) ++at;
    if (at == end) break;
    double x = 0;
    const auto [next, ec] = std::from_chars(at, end, x);
    if (ec != std::errc()) {
      throw std::invalid_argument("not a number in the line '" + line + "'");
    }
    p.push_back(x);
    at = next;
  }
  return p;
}

[[noreturn]] void Ragged(size_t got, size_t want) {
  throw std::invalid_argument("a point of " + std::to_string(got) +
                              " coordinates among points of " + std::to_string(want));
}

template <typename Point>
Point Parse(const std::string& line) {
  std::vector<double> xs = ParseCoordinates(line);
  if constexpr (std::is_same_v<Point, std::vector<double>>) {
    return xs;
  } else {
    Point p{};
    if (xs.size() != p.size()) Ragged(xs.size(), p.size());
    for (size_t i = 0; i < p.size(); ++i) p[i] = xs[i];
    return p;
  }
}

template <typename Point>
double Distance2(const Point& a, const Point& b) {
  if (a.size() != b.size()) Ragged(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
  return d;
}

template <typename Point>
std::pair<int64_t, double> Nearest(const std::vector<Point>& centers, const Point& p) {
  int64_t best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (size_t c = 0; c < centers.size(); ++c) {
    const double d = Distance2(p, centers[c]);
    if (d < best_d) {
      best_d = d;
      best = static_cast<int64_t>(c);
    }
  }
  return {best, best_d};
}

// Per center: the sum of its points, how many, and their squared distances.
template <typename Point>
struct Moments {
  Point sum;
  int64_t count = 0;
  double cost = 0;
  EMBER_FIELDS(sum, count, cost)
};

template <typename Point>
int Run(ember::Context& ctx, const std::string& path, int64_t k, int64_t iterations) {
  const auto t_start = std::chrono::steady_clock::now();
  auto points = ctx.textFile(path)
                    .filter([](const std::string& l) {
                      return l.find_first_not_of(" \t\r") != std::string::npos;
                    })
                    .map([](const std::string& l) { return Parse<Point>(l); })
                    .cache();  // parsed once, read by every iteration
  std::vector<Point> centers = points.take(static_cast<uint64_t>(k));
  if (static_cast<int64_t>(centers.size()) < k) {
    std::fprintf(stderr, "kmeans: %zu points, fewer than K = %lld\n", centers.size(),
                 static_cast<long long>(k));
    return 1;
  }
  for (int64_t i = 1; i <= iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto current = ctx.broadcast(centers);
    auto moments = points
                       .map(ember::with(current,
                                        [](const ember::Broadcast<std::vector<Point>>& c, Point p) {
                                          const auto [nearest, d] = Nearest(c.value(), p);
                                          return std::pair<int64_t, Moments<Point>>(
                                              nearest, Moments<Point>{std::move(p), 1, d});
                                        }))
                       .reduceByKey([](Moments<Point> a, Moments<Point> b) {
                         for (size_t j = 0; j < a.sum.size(); ++j) a.sum[j] += b.sum[j];
                         a.count += b.count;
                         a.cost += b.cost;
                         return a;
                       })
                       .collect();
    double cost = 0;
    for (auto& [c, m] : moments) {
      cost += m.cost;
      for (double& x : m.sum) x /= static_cast<double>(m.count);
      centers[static_cast<size_t>(c)] = std::move(m.sum);
    }
    std::printf("iteration %lld: %.3f s, cost %.6f\n", static_cast<long long>(i),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cost);
    std::fflush(stdout);  // progress, as it happens, also through a pipe
  }
  for (const Point& c : centers) {
    std::string line = "center";
    char buf[40];
    for (double x : c) {
      std::snprintf(buf, sizeof(buf), " %.17g", x);
      line += buf;
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("kmeans: %lld iterations in %.2f s\n", static_cast<long long>(iterations),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
  return 0;
}

}  // namespace

EMBER_APPLICATION(ctx, args) {
  if (args.size() != 3) {
    std::fprintf(stderr, "usage: kmeans POINTS K ITERATIONS\n");
    return 2;
  }
  int64_t k = 0, iterations = 0;
  try {
    k = std::stoll(args[1]);
    iterations = std::stoll(args[2]);
  } catch (const std::exception&) {
    k = 0;
  }
  if (k < 1 || iterations < 1) {
    std::fprintf(stderr, "kmeans: K and ITERATIONS must be positive integers\n");
    return 2;
  }
  // The first point's coordinates choose the point type.
  const std::vector<std::string> first =
      ctx.textFile(args[0])
          .filter([](const std::string& l) {
            return l.find_first_not_of(" \t\r") != std::string::npos;
          })
          .take(1);
  if (first.empty()) {
    std::fprintf(stderr, "kmeans: %s holds no points\n", args[0].c_str());
    return 1;
  }
  switch (ParseCoordinates(first[0]).size()) {
    case 2:
      return Run<std::array<double, 2>>(ctx, args[0], k, iterations);
    case 3:
      return Run<std::array<double, 3>>(ctx, args[0], k, iterations);
    default:
      return Run<std::vector<double>>(ctx, args[0], k, iterations);
  }
}
