// Accumulators: numbers that tasks add to and the driver reads.
//
//   auto bad = ctx.accumulator<int64_t>();
//   lines.filter(ember::with(bad, [](const auto& bad, const std::string& l) {
//     if (l.empty()) bad.add(1);
//     return !l.empty();
//   })).count();
//   bad.value();  // on the driver: the empty lines
//
// A task's additions travel with its result and count only if the
// scheduler accepts that result: a failed or killed attempt, or a second
// success for a partition already done, adds nothing. As in Spark, a stage
// that runs again because its shuffle output was lost counts again, so an
// exact count belongs in the last stage of a job (an action's own stage).
// The handle encodes as its id.
//
// Thread-safety: add() from any task thread; value() on the driver.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <type_traits>

#include "ember/record.h"

namespace ember {

namespace internal {

// What an accumulator adds: integers as int64 or uint64 (wrapping on
// overflow), floating point as double.
enum class AccumulatorKind : uint8_t { kInt = 0, kUint = 1, kDouble = 2 };

struct AccumulatorValue {
  AccumulatorKind kind = AccumulatorKind::kInt;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;

  void Add(const AccumulatorValue& v) {
    switch (kind) {
      case AccumulatorKind::kInt:
        i = static_cast<int64_t>(static_cast<uint64_t>(i) + static_cast<uint64_t>(v.i));
        break;
      case AccumulatorKind::kUint:
        u += v.u;
        break;
      case AccumulatorKind::kDouble:
        d += v.d;
        break;
    }
  }
};

template <typename T>
constexpr AccumulatorKind KindOf() {
  if constexpr (std::is_floating_point_v<T>) return AccumulatorKind::kDouble;
  if constexpr (std::is_unsigned_v<T>) return AccumulatorKind::kUint;
  return AccumulatorKind::kInt;
}

template <typename T>
AccumulatorValue ValueOf(T v) {
  AccumulatorValue out;
  out.kind = KindOf<T>();
  if constexpr (std::is_floating_point_v<T>) {
    out.d = static_cast<double>(v);
  } else if constexpr (std::is_unsigned_v<T>) {
    out.u = static_cast<uint64_t>(v);
  } else {
    out.i = static_cast<int64_t>(v);
  }
  return out;
}

// The driver's merged value of one accumulator.
class AccumulatorState {
 public:
  explicit AccumulatorState(AccumulatorKind kind) { value_.kind = kind; }
  AccumulatorKind kind() const { return value_.kind; }
  void Add(const AccumulatorValue& v) {
    std::lock_guard<std::mutex> lock(mu_);
    value_.Add(v);
  }
  AccumulatorValue Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return value_;
  }

 private:
  mutable std::mutex mu_;
  AccumulatorValue value_;
};

class TaskAccumulators;
// The running task's, on this thread; defined once, in the runtime, so that
// the application library and the executor see the same slot.
TaskAccumulators*& CurrentTaskAccumulators();

// What the task running on this thread has added, by accumulator id; the
// executor installs one per task and sends it with a successful status.
class TaskAccumulators {
 public:
  static TaskAccumulators* Current() { return CurrentTaskAccumulators(); }
  void Add(uint64_t id, const AccumulatorValue& v) {
    auto [it, inserted] = updates_.emplace(id, v);
    if (!inserted) it->second.Add(v);
  }
  const std::map<uint64_t, AccumulatorValue>& updates() const { return updates_; }

  // Makes `updates` the current task's for the scope's life.
  class Scope {
   public:
    explicit Scope(TaskAccumulators* updates) : previous_(CurrentTaskAccumulators()) {
      CurrentTaskAccumulators() = updates;
    }
    ~Scope() { CurrentTaskAccumulators() = previous_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    TaskAccumulators* previous_;
  };

 private:
  std::map<uint64_t, AccumulatorValue> updates_;
};

}  // namespace internal

template <typename T>
class Accumulator {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                "Ember: an accumulator adds up numbers: use an integer or floating-point type");

 public:
  Accumulator() = default;
  Accumulator(uint64_t id, std::shared_ptr<internal::AccumulatorState> state)
      : id_(id), state_(std::move(state)) {}

  uint64_t id() const { return id_; }

  // Inside a task: to the task's update, counted when its result is. On
  // the driver, outside any task: to the value at once.
  void add(T v) const {
    if (internal::TaskAccumulators* task = internal::TaskAccumulators::Current()) {
      task->Add(id_, internal::ValueOf(v));
    } else if (state_ != nullptr) {
      state_->Add(internal::ValueOf(v));
    } else {
      throw std::logic_error(
          "Ember: Accumulator::add outside a task and away from the driver that made it");
    }
  }

  // The driver's value: the initial value plus what every counted task
  // added. Only the handle ctx.accumulator() returned (or its copies on the
  // driver) has one.
  T value() const {
    if (state_ == nullptr) {
      throw std::logic_error("Ember: an accumulator's value is read on the driver, not in a task");
    }
    const internal::AccumulatorValue v = state_->Get();
    if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(v.d);
    } else if constexpr (std::is_unsigned_v<T>) {
      return static_cast<T>(v.u);
    } else {
      return static_cast<T>(v.i);
    }
  }

 private:
  uint64_t id_ = 0;
  std::shared_ptr<internal::AccumulatorState> state_;
};

template <typename T>
struct Codec<Accumulator<T>> {
  static void Encode(RecordWriter& w, const Accumulator<T>& a) {
    Codec<uint64_t>::Encode(w, a.id());
  }
  static Status Decode(RecordReader& r, Accumulator<T>& a) {
    uint64_t id = 0;
    RETURN_IF_ERROR(Codec<uint64_t>::Decode(r, id));
    a = Accumulator<T>(id, nullptr);
    return Status::Ok();
  }
};

}  // namespace ember
