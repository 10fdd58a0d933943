// The thread's current task accumulators (ember/accumulator.h): one slot for
// the whole process, whichever library asks.
#include "ember/accumulator.h"

namespace ember::internal {

TaskAccumulators*& CurrentTaskAccumulators() {
  static thread_local TaskAccumulators* current = nullptr;
  return current;
}

}  // namespace ember::internal
