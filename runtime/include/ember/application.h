// The entry point of an Ember application library.
//
//   #include <ember/ember.h>
//   EMBER_APPLICATION(ctx, args) {
//     ctx.textFile(args.at(0)) ... .saveAsTextFile(args.at(1));
//     return 0;
//   }
//
// The driver loads the library and calls the entry point: that is the driver
// program. Executors load the same library (downloaded from the driver) but
// never call it; they only call the operator invokers it contains.
#pragma once

#include <string>
#include <vector>

#include "ember/context.h"

// Bumped whenever the layout of anything the application and the runtime
// share changes; the driver refuses a library built against another one.
#define EMBER_ABI_VERSION 1

// A library may hold several programs instead, each named and chosen at
// submission (ember-submit --class NAME, or a SparkApplication's mainClass):
//
//   EMBER_ENTRY_POINT(wordcount, ctx, args) { ...; return 0; }
//   EMBER_ENTRY_POINT(pagerank, ctx, args) { ...; return 0; }
#define EMBER_ENTRY_POINT(name, ctx, args)                                                         \
  static int ember_user_entry_##name(::ember::Context& ctx, const std::vector<std::string>& args); \
  extern "C" __attribute__((visibility("default"))) const int ember_entry_##name##_abi =           \
      EMBER_ABI_VERSION;                                                                           \
  extern "C" __attribute__((visibility("default"))) int ember_entry_##name(                        \
      ::ember::Context* context, const std::vector<std::string>* arguments) {                      \
    return ember_user_entry_##name(*context, *arguments);                                          \
  }                                                                                                \
  static int ember_user_entry_##name(::ember::Context& ctx, const std::vector<std::string>& args)

#define EMBER_APPLICATION(ctx, args)                                                       \
  static int ember_user_main(::ember::Context& ctx, const std::vector<std::string>& args); \
  extern "C" __attribute__((visibility("default"))) const int ember_application_abi =      \
      EMBER_ABI_VERSION;                                                                   \
  extern "C" __attribute__((visibility("default"))) int ember_application_main(            \
      ::ember::Context* context, const std::vector<std::string>* arguments) {              \
    return ember_user_main(*context, *arguments);                                          \
  }                                                                                        \
  static int ember_user_main(::ember::Context& ctx, const std::vector<std::string>& args)
