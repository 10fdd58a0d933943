// Runs the control-plane tests with the ControlPlane environment.
#include <gtest/gtest.h>

#include "tests/controlplane/controlplane_env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ember::kube::testing::ControlPlane);  // gtest owns it
  return RUN_ALL_TESTS();
}
