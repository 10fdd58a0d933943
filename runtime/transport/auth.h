// The application's shared secret: where it comes from and how peers check it.
//
// Every RPC carries the secret in the "x-ember-secret" metadata entry. The
// driver refuses executors without it; executors refuse shuffle fetches
// without it. Comparison is constant-time.
#pragma once

#include <string>
#include <string_view>

#include "ember/status.h"

namespace ember::transport {

inline constexpr std::string_view kSecretMetadataKey = "x-ember-secret";

// Resolves the secret from, in order: `flag_value`, `flag_file` (contents,
// trailing newline stripped), $EMBER_SECRET, $EMBER_SECRET_FILE. An empty
// secret is an error: every application must have one.
Result<std::string> LoadSecret(std::string_view flag_value, std::string_view flag_file);

// A random 32-byte secret, hex encoded, for local modes.
std::string GenerateSecret();

bool SecretsEqual(std::string_view a, std::string_view b);

}  // namespace ember::transport
