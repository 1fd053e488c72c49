#pragma once
// A Beast body that sends a byte range of an open file (static files, D20). The serializer
// asks for the next piece only after the previous one was written to the socket, so a
// response holds one piece of at most `piece_bytes` however large the file and however slow
// the client; each piece is one pread on the session's executor.
#include <unistd.h>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "net/http_types.hpp"

namespace kwm::net {

struct file_range_body {
  using value_type = file_range;
  static constexpr std::size_t piece_bytes = 64 * 1024;

  static std::uint64_t size(const value_type& range) { return range.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>&, const value_type& range)
        : range_(range), next_(range.offset), remaining_(range.length) {}

    void init(boost::beast::error_code& ec) {
      ec = {};
      if (remaining_ > 0)
        piece_ = std::make_unique<char[]>(std::min<std::uint64_t>(remaining_, piece_bytes));
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (remaining_ == 0) return boost::none;
      const auto wanted =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, piece_bytes));
      ssize_t got;
      do {
        got = ::pread(range_.file->descriptor(), piece_.get(), wanted, static_cast<off_t>(next_));
      } while (got < 0 && errno == EINTR);
      if (got <= 0) {
        // Read error, or the file shrank below the announced Content-Length: the only honest
        // end is to break the connection.
        ec = got == 0 ? boost::beast::errc::make_error_code(boost::beast::errc::io_error)
                      : boost::beast::error_code(errno, boost::beast::system_category());
        return boost::none;
      }
      next_ += static_cast<std::uint64_t>(got);
      remaining_ -= static_cast<std::uint64_t>(got);
      return {{const_buffers_type(piece_.get(), static_cast<std::size_t>(got)), remaining_ > 0}};
    }

   private:
    const value_type& range_;
    std::uint64_t next_;
    std::uint64_t remaining_;
    std::unique_ptr<char[]> piece_;
  };
};

}  // namespace kwm::net
