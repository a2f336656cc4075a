#include "tests/fault/fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/fault/sim_util.h"

namespace hakd::sim {
namespace {

constexpr size_t kMaxQueuedBytes = 4 << 20;  // per direction; then stop reading
constexpr double kControlPeriodMs = 100;

enum class Mode { kPass, kDelay, kDrop, kCut };

struct ModeSetting {
  Mode mode = Mode::kPass;
  int delay_ms = 0;
  bool operator==(const ModeSetting& o) const {
    return mode == o.mode && delay_ms == o.delay_ms;
  }
  std::string Name() const {
    switch (mode) {
      case Mode::kPass:
        return "pass";
      case Mode::kDelay:
        return absl::StrCat("delay_", delay_ms);
      case Mode::kDrop:
        return "drop";
      case Mode::kCut:
        return "cut";
    }
    return "?";
  }
};

// Parses the control file's first line; false when it is not a mode.
bool ParseMode(const std::string& text, ModeSetting* out) {
  std::vector<std::string> words =
      absl::StrSplit(absl::StripAsciiWhitespace(text), ' ', absl::SkipEmpty());
  if (words.empty()) return false;
  if (words[0] == "pass" && words.size() == 1) {
    *out = {Mode::kPass, 0};
  } else if (words[0] == "drop" && words.size() == 1) {
    *out = {Mode::kDrop, 0};
  } else if (words[0] == "cut" && words.size() == 1) {
    *out = {Mode::kCut, 0};
  } else if (words[0] == "delay" && words.size() == 2) {
    int ms = 0;
    if (!absl::SimpleAtoi(words[1], &ms) || ms < 0) return false;
    *out = {Mode::kDelay, ms};
  } else {
    return false;
  }
  return true;
}

struct Chunk {
  double due_ms;
  std::string bytes;
  size_t offset = 0;
};

// Bytes read from one socket waiting to be written to the other.
struct Direction {
  std::deque<Chunk> queue;
  size_t queued = 0;
  bool eof = false;  // the reading side has closed
  bool HasDue(double now) const {
    return !queue.empty() && queue.front().due_ms <= now;
  }
};

struct Conn {
  int id = 0;
  int client = -1;
  int upstream = -1;
  bool connecting = true;
  Direction up;    // client -> upstream
  Direction down;  // upstream -> client
};

// Closes with a reset rather than a FIN: the peer sees the link die at once.
void Reset(int fd) {
  if (fd < 0) return;
  linger lin{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
  close(fd);
}

class Proxy {
 public:
  explicit Proxy(const ProxyOptions& options) : options_(options) {}

  int Run() {
    if (!ParseTarget()) return 2;
    if (!Listen()) return 1;
    if (!options_.port_file.empty()) {
      std::ofstream(options_.port_file + ".tmp") << port_ << "\n";
      std::rename((options_.port_file + ".tmp").c_str(),
                  options_.port_file.c_str());
    }
    Event("proxy", "listening",
          absl::StrCat("port=", port_, " target=", options_.target));
    double next_control = 0;
    for (;;) {
      double now = MonoMs();
      if (now >= next_control) {
        ReadControl();
        next_control = now + kControlPeriodMs;
      }
      Poll(next_control);
    }
  }

 private:
  bool ParseTarget() {
    std::pair<std::string, std::string> hp =
        absl::StrSplit(options_.target, ':');
    int port = 0;
    target_ = {};
    target_.sin_family = AF_INET;
    if (inet_pton(AF_INET, hp.first.c_str(), &target_.sin_addr) != 1 ||
        !absl::SimpleAtoi(hp.second, &port) || port <= 0 || port > 65535) {
      std::fprintf(
          stderr, "hakd-sim proxy: --target: expected a.b.c.d:port, got '%s'\n",
          options_.target.c_str());
      return false;
    }
    target_.sin_port = htons(port);
    return true;
  }

  bool Listen() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_ != 0 ? port_ : options_.listen_port);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
            0 ||
        listen(listener_, 128) != 0) {
      Event("proxy", "listen-failed", std::strerror(errno));
      close(listener_);
      listener_ = -1;
      return false;
    }
    socklen_t len = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    return true;
  }

  void ReadControl() {
    std::ifstream in(options_.control_file);
    std::string line;
    if (!in || !std::getline(in, line)) return;
    ModeSetting next;
    if (!ParseMode(line, &next)) {
      if (line != bad_line_)
        Event("proxy", "bad-mode", absl::StrCat("\"", line, "\""));
      bad_line_ = line;
      return;
    }
    if (next == mode_) return;
    const std::string from = mode_.Name();
    mode_ = next;
    if (mode_.mode == Mode::kCut) {
      for (auto& c : conns_) {
        Reset(c->client);
        Reset(c->upstream);
      }
      conns_.clear();
      if (listener_ >= 0) close(listener_);
      listener_ = -1;
    } else if (listener_ < 0) {
      Listen();  // retried every period until it binds
    }
    Event("proxy", "mode",
          absl::StrCat("from=", from, " to=", mode_.Name(),
                       " conns=", conns_.size(), " accepted=", accepted_));
  }

  void Accept() {
    for (;;) {
      const int fd =
          accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto c = std::make_unique<Conn>();
      c->id = ++accepted_;
      c->client = fd;
      c->upstream =
          socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      setsockopt(c->upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (connect(c->upstream, reinterpret_cast<sockaddr*>(&target_),
                  sizeof(target_)) != 0 &&
          errno != EINPROGRESS) {
        Event("proxy", "upstream-refused",
              absl::StrCat("id=", c->id, " ", std::strerror(errno)));
        Reset(c->client);
        close(c->upstream);
        continue;
      }
      conns_.push_back(std::move(c));
      Event("proxy", "conn-open",
            absl::StrCat("id=", conns_.back()->id, " conns=", conns_.size(),
                         " mode=", mode_.Name()));
    }
  }

  // Reads what `from` has into `dir`; false when the connection must close.
  bool ReadInto(int from, Direction* dir, double now) {
    char buf[65536];
    const ssize_t n = recv(from, buf, sizeof(buf), 0);
    if (n > 0) {
      const double delay = mode_.mode == Mode::kDelay ? mode_.delay_ms : 0;
      dir->queue.push_back({now + delay, std::string(buf, n)});
      dir->queued += n;
      return true;
    }
    if (n == 0) {
      dir->eof = true;
      return true;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }

  // Writes the due bytes of `dir` to `to`; false when the connection must
  // close.
  bool WriteFrom(Direction* dir, int to, double now) {
    while (dir->HasDue(now)) {
      Chunk& chunk = dir->queue.front();
      const ssize_t n = send(to, chunk.bytes.data() + chunk.offset,
                             chunk.bytes.size() - chunk.offset, MSG_NOSIGNAL);
      if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      chunk.offset += n;
      dir->queued -= n;
      if (chunk.offset < chunk.bytes.size()) return true;
      dir->queue.pop_front();
    }
    return true;
  }

  void Poll(double next_control) {
    const double now = MonoMs();
    const bool flowing =
        mode_.mode == Mode::kPass || mode_.mode == Mode::kDelay;
    std::vector<pollfd> fds;
    fds.push_back({listener_, POLLIN, 0});
    double wake = next_control;
    for (const auto& c : conns_) {
      short cev = 0, uev = 0;
      if (flowing) {
        if (!c->up.eof && c->up.queued < kMaxQueuedBytes) cev |= POLLIN;
        if (c->down.HasDue(now)) cev |= POLLOUT;
        if (!c->connecting) {
          if (!c->down.eof && c->down.queued < kMaxQueuedBytes) uev |= POLLIN;
          if (c->up.HasDue(now)) uev |= POLLOUT;
        }
        for (const Direction* d : {&c->up, &c->down}) {
          if (!d->queue.empty()) wake = std::min(wake, d->queue.front().due_ms);
        }
      }
      if (c->connecting) uev |= POLLOUT;
      // A socket polled for nothing would still report hang-ups and spin;
      // a held (dropped) connection is simply not looked at.
      fds.push_back({cev != 0 ? c->client : -1, cev, 0});
      fds.push_back({uev != 0 ? c->upstream : -1, uev, 0});
    }
    const int timeout = static_cast<int>(std::max(0.0, wake - now)) + 1;
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    const double after = MonoMs();
    std::vector<std::unique_ptr<Conn>> kept;
    for (size_t i = 0; i < conns_.size(); ++i) {
      std::unique_ptr<Conn>& c = conns_[i];
      const short cre = fds[1 + 2 * i].revents;
      const short ure = fds[2 + 2 * i].revents;
      std::string why;
      if (c->connecting && ure != 0) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->upstream, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          why = absl::StrCat("upstream connect: ", std::strerror(err));
        } else {
          c->connecting = false;
        }
      } else if (ure != 0 || cre != 0) {
        if ((cre & (POLLIN | POLLHUP | POLLERR)) &&
            !ReadInto(c->client, &c->up, after)) {
          why = "client error";
        } else if ((ure & (POLLIN | POLLHUP | POLLERR)) &&
                   !ReadInto(c->upstream, &c->down, after)) {
          why = "upstream error";
        }
      }
      if (why.empty() && flowing && !c->connecting) {
        if (!WriteFrom(&c->up, c->upstream, after))
          why = "upstream write error";
        if (!WriteFrom(&c->down, c->client, after)) why = "client write error";
      }
      if (why.empty() && c->up.eof && c->up.queue.empty())
        why = "client closed";
      if (why.empty() && c->down.eof && c->down.queue.empty())
        why = "upstream closed";
      if (why.empty()) {
        kept.push_back(std::move(c));
        continue;
      }
      Reset(c->client);
      Reset(c->upstream);
      Event("proxy", "conn-closed",
            absl::StrCat("id=", c->id,
                         " conns=", conns_.size() - i - 1 + kept.size(),
                         " why=\"", why, "\""));
    }
    conns_ = std::move(kept);
    if (listener_ >= 0 && (fds[0].revents & POLLIN)) Accept();
  }

  const ProxyOptions options_;
  sockaddr_in target_{};
  int listener_ = -1;
  int port_ = 0;
  int accepted_ = 0;
  ModeSetting mode_;
  std::string bad_line_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

}  // namespace

int RunFaultProxy(const ProxyOptions& options) {
  if (options.target.empty() || options.control_file.empty()) {
    std::fprintf(stderr,
                 "hakd-sim proxy: --target and --control are required\n");
    return 2;
  }
  Proxy proxy(options);
  return proxy.Run();
}

}  // namespace hakd::sim
