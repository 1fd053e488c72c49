#pragma once
// Static files under a root directory (spec §1.9: --enable-www at /, --enable-docs at /docs),
// in the manner of Go's http.FileServer: index.html for directories, a listing otherwise,
// redirects to canonical paths, Last-Modified / If-Modified-Since, single byte ranges.
// No path ever resolves outside the root (`..`, encoded slashes, symlinks out of it). A file
// is answered as an open descriptor (http_response::file_body) that the listener streams.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace kwm::net {

class static_files {
 public:
  // `root` must be an existing directory (checked by the caller at startup); `mount` is the
  // URL prefix the files appear under ("" for /, "/docs" for the docs).
  static_files(std::filesystem::path root, std::string mount);

  http_response serve(const http_request& request) const;

  // The content type used for a file name (by extension; application/octet-stream otherwise).
  static std::string_view content_type_for(std::string_view file_name);

 private:
  http_response serve_file(const http_request& request, const std::filesystem::path& file) const;
  http_response list_directory(const std::filesystem::path& directory, const std::string& url_path) const;

  std::filesystem::path root_;
  std::string mount_;
};

// Decodes %XX escapes; nullopt for malformed escapes or a decoded NUL.
std::optional<std::string> percent_decode_path(std::string_view path);

}  // namespace kwm::net
