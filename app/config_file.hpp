#pragma once
// The original packaging's configuration file (/etc/kopano/kwmserverd.cfg, spec §7.5): shell
// style `key=value` lines that its wrapper script turned into flags. Here each key becomes the
// KWMSERVERD_* environment variable of its flag, without overwriting a variable that is
// already set, so the precedence is: command line > environment > config file > default.
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kwm::app {

using config_entries = std::vector<std::pair<std::string, std::string>>;

// Parses `key=value` / `key = value` lines; `#` comments, blank lines and surrounding
// quotes are allowed. Returns an error message for a line that is none of these.
std::optional<std::string> parse_config_text(const std::string& text, config_entries& out);

// The environment variable a key sets: the original's key names where they differ from the
// flag's name (oidc_issuer_identifier → KWMSERVERD_ISS, …), otherwise KWMSERVERD_<KEY>.
std::string config_key_environment_name(const std::string& key);

// Reads `path` and exports its keys. `known` lists the environment names of the serve flags;
// an unknown key is an error. Applies the wrapper's "if the file exists" defaults for the
// admin tokens key and the registration file. Returns an error message.
std::optional<std::string> export_config_file(const std::string& path, const std::set<std::string>& known);

}  // namespace kwm::app
