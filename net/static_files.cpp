#include "net/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <map>
#include <vector>

namespace kwm::net {
namespace {

namespace fs = std::filesystem;

std::string http_date(std::time_t when) {
  std::tm utc{};
  ::gmtime_r(&when, &utc);
  std::array<char, 64> text{};
  std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return text.data();
}

std::optional<std::time_t> parse_http_date(std::string_view text) {
  std::tm parsed{};
  const std::string copy(text);
  const char* end = ::strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parsed);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return ::timegm(&parsed);
}

std::string html_escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

struct byte_range {
  uint64_t first = 0, last = 0;  // inclusive
};

enum class range_verdict { whole, partial, unsatisfiable };

// RFC 7233 §3.2: a Range holds only while the client's copy is current, that is with no
// If-Range or one whose date equals Last-Modified. No entity tags are sent, so none matches.
bool range_applies(std::string_view if_range, std::time_t modified) {
  if (if_range.empty()) return true;
  const auto date = parse_http_date(if_range);
  return date && *date == modified;
}

// A single "bytes=" range; several ranges are answered with the whole file (allowed).
range_verdict parse_range(std::string_view header, uint64_t size, byte_range& out) {
  constexpr std::string_view unit = "bytes=";
  if (header.substr(0, unit.size()) != unit) return range_verdict::whole;
  const auto spec = header.substr(unit.size());
  if (spec.find(',') != std::string_view::npos) return range_verdict::whole;
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return range_verdict::whole;
  const auto number = [](std::string_view digits, uint64_t& value) {
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return ec == std::errc{} && end == digits.data() + digits.size() && !digits.empty();
  };
  const auto from = spec.substr(0, dash), to = spec.substr(dash + 1);
  uint64_t a = 0, b = 0;
  if (from.empty()) {  // the last b bytes
    if (!number(to, b)) return range_verdict::whole;
    if (b == 0 || size == 0) return range_verdict::unsatisfiable;
    out = {size - std::min(b, size), size - 1};
    return range_verdict::partial;
  }
  if (!number(from, a)) return range_verdict::whole;
  if (a >= size) return range_verdict::unsatisfiable;
  b = size - 1;
  if (!to.empty()) {
    if (!number(to, b) || b < a) return range_verdict::whole;
    b = std::min(b, size - 1);
  }
  out = {a, b};
  return range_verdict::partial;
}

// For Location headers and listing links: everything but unreserved characters and '/'.
std::string percent_encoded(std::string_view path) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// Go's http.FileServer answers for files it cannot open.
http_response open_error(int error) {
  if (error == ENOENT || error == ENOTDIR || error == ELOOP) return http_response::not_found();
  if (error == EACCES || error == EPERM) return http_response::text_error(403, "403 Forbidden");
  return http_response::text_error(500, "500 Internal Server Error");
}

bool inside(const fs::path& root, const fs::path& candidate) {
  auto r = root.begin(), c = candidate.begin();
  for (; r != root.end(); ++r, ++c)
    if (c == candidate.end() || *r != *c) return false;
  return true;
}

}  // namespace

std::optional<std::string> percent_decode_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out += path[i];
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(path.data() + i + 1, path.data() + i + 3, value, 16);
    if (ec != std::errc{} || end != path.data() + i + 3 || value == 0) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::string_view static_files::content_type_for(std::string_view file_name) {
  static const std::map<std::string, std::string, std::less<>> types = {
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".json", "application/json"},
      {".yaml", "application/yaml"},         {".yml", "application/yaml"},
      {".md", "text/markdown; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".jpg", "image/jpeg"},                {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},                 {".ico", "image/vnd.microsoft.icon"},
      {".webp", "image/webp"},               {".wasm", "application/wasm"},
      {".woff2", "font/woff2"},              {".mp4", "video/mp4"},
      {".webm", "video/webm"},               {".pdf", "application/pdf"},
  };
  const auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string extension(file_name.substr(dot));
  for (auto& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto it = types.find(extension);
  return it == types.end() ? std::string_view("application/octet-stream") : std::string_view(it->second);
}

static_files::static_files(fs::path root, std::string mount)
    : root_(fs::weakly_canonical(fs::absolute(root))), mount_(std::move(mount)) {}

http_response static_files::serve(const http_request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    auto response = http_response::text_error(405, "Method Not Allowed");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  const auto decoded = percent_decode_path(std::string_view(request.path).substr(mount_.size()));
  if (!decoded || decoded->empty() || decoded->front() != '/') return http_response::not_found();
  // Reject any '..' segment outright rather than resolving it.
  for (std::size_t start = 0; start < decoded->size();) {
    const auto end = std::min(decoded->find('/', start), decoded->size());
    if (decoded->compare(start, end - start, "..") == 0) return http_response::not_found();
    start = end + 1;
  }
  std::error_code error;
  const fs::path target = fs::weakly_canonical(root_ / fs::path(decoded->substr(1)), error);
  if (error || !inside(root_, target)) return http_response::not_found();
  const auto status = fs::status(target, error);
  if (error || !fs::exists(status)) return http_response::not_found();
  const std::string url_path = mount_ + *decoded;
  // Go's canonical forms: /dir/ for directories, never /index.html.
  constexpr std::string_view index_suffix = "/index.html";
  if (url_path.size() >= index_suffix.size() &&
      url_path.compare(url_path.size() - index_suffix.size(), index_suffix.size(), index_suffix) == 0)
    return http_response::moved_permanently("./");
  if (fs::is_directory(status)) {
    if (url_path.back() != '/') return http_response::moved_permanently(percent_encoded(url_path.substr(url_path.rfind('/') + 1)) + "/");
    const auto index = target / "index.html";
    if (fs::is_regular_file(index, error)) return serve_file(request, index);
    return list_directory(target, url_path);
  }
  if (!fs::is_regular_file(status)) return http_response::not_found();
  if (url_path.back() == '/') return http_response::moved_permanently("../" + percent_encoded(target.filename().string()));
  return serve_file(request, target);
}

http_response static_files::serve_file(const http_request& request, const fs::path& file) const {
  // Size and date come from the descriptor that is then streamed, never from a second lookup.
  // O_NONBLOCK: a FIFO swapped in after the checks must not block the io thread.
  auto opened = std::make_shared<const open_file>(
      ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (opened->descriptor() < 0) return open_error(errno);
  struct stat info{};
  if (::fstat(opened->descriptor(), &info) != 0) return open_error(errno);
  if (!S_ISREG(info.st_mode)) return http_response::not_found();
  const auto size = static_cast<uint64_t>(info.st_size);
  const std::time_t modified = info.st_mtime;
  http_response response;
  response.headers = {{"Last-Modified", http_date(modified)}, {"Accept-Ranges", "bytes"}};
  if (const auto since = parse_http_date(request.header("if-modified-since")); since && modified <= *since) {
    response.status = 304;
    return response;
  }
  response.headers.emplace_back("Content-Type", std::string(content_type_for(file.filename().string())));
  byte_range range;
  uint64_t offset = 0, length = size;
  const auto verdict = range_applies(request.header("if-range"), modified)
                           ? parse_range(request.header("range"), size, range)
                           : range_verdict::whole;
  switch (verdict) {
    case range_verdict::unsatisfiable: {
      auto refused = http_response::text_error(416, "invalid range: failed to overlap");
      refused.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      return refused;
    }
    case range_verdict::partial:
      response.status = 206;
      offset = range.first;
      length = range.last - range.first + 1;
      response.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                                         std::to_string(range.last) + "/" + std::to_string(size));
      break;
    case range_verdict::whole:
      break;
  }
  if (request.method == "HEAD") {
    response.head_content_length = length;
    return response;
  }
  response.file_body = file_range{std::move(opened), offset, length};
  return response;
}

// Entries whose type cannot be determined (a symlink loop, a dangling link, a target without
// permission) and links that lead out of the root are left out: the listing shows only what
// serve() would serve, and never throws.
http_response static_files::list_directory(const fs::path& directory, const std::string& url_path) const {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    std::error_code entry_error;
    const bool is_directory = it->is_directory(entry_error);
    if (entry_error) continue;
    if (it->is_symlink(entry_error) || entry_error) {
      const auto resolved = fs::canonical(it->path(), entry_error);
      if (entry_error || !inside(root_, resolved)) continue;
    }
    names.push_back(it->path().filename().string() + (is_directory ? "/" : ""));
  }
  std::sort(names.begin(), names.end());
  http_response response;
  response.headers = {{"Content-Type", "text/html; charset=utf-8"}};
  response.body = "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>" +
                  html_escaped(url_path) + "</title>\n<pre>\n";
  for (const auto& name : names)
    response.body += "<a href=\"" + html_escaped(percent_encoded(name)) + "\">" + html_escaped(name) + "</a>\n";
  response.body += "</pre>\n";
  return response;
}

}  // namespace kwm::net
