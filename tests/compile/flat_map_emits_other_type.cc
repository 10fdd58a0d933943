// Emitting an int64_t from flatMap's emitter form without naming the output
// type: the first error must say to write flatMap<T>.
#include <cstdint>
#include <string>

#include <ember/ember.h>

void Build(ember::Context& ctx) {
  ctx.textFile("in").flatMap([](const std::string& line, auto& out) {
    out(static_cast<int64_t>(line.size()));
  });
}
