// A valid shared library that is not an Ember application: it has no
// ember_application_main, which ember-submit must report.
extern "C" int noentry_answer() {
  return 42;
}
