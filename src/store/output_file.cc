#include "store/output_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace store {

// The first page of the file, mapped shared by the writer and every reader.
struct OutputFile::Header {
  char magic[8];
  uint32_t version;
  uint32_t data_offset;  // Where the head begins; the ring follows it.
  uint64_t head_capacity;
  uint64_t tail_capacity;
  std::atomic<uint64_t> total;  // Bytes published: stored after the data they count.
  // The total the writer is writing towards: stored before it overwrites ring slots, so that a
  // reader that may have seen the new bytes also sees that the old ones there are gone.
  std::atomic<uint64_t> reserved;
  std::atomic<uint32_t> closed;
};

namespace {

constexpr char kMagic[8] = {'M', 'C', 'P', 'B', 'G', 'O', 'U', 'T'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kPage = 4096;
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "the byte count is shared between processes through a mapping");

// Where the tail's kept bytes begin when `total` bytes have been published.
uint64_t tail_start_at(uint64_t total, uint64_t head, uint64_t ring) {
  if (total <= head) return total;
  return total - std::min(total - head, ring);
}

}  // namespace

OutputFile::OutputFile(base::UniqueFd fd, Header* header) : fd_(std::move(fd)), header_(header) {}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(std::move(other.fd_)), header_(std::exchange(other.header_, nullptr)) {}

OutputFile& OutputFile::operator=(OutputFile&& other) noexcept {
  if (this != &other) {
    if (header_ != nullptr) ::munmap(header_, kPage);
    fd_ = std::move(other.fd_);
    header_ = std::exchange(other.header_, nullptr);
  }
  return *this;
}

OutputFile::~OutputFile() {
  if (header_ != nullptr) ::munmap(header_, kPage);
}

base::Result<OutputFile> OutputFile::create(const std::filesystem::path& file, uint64_t max_bytes) {
  base::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return base::fail_errno(fmt::format("output file {}: create", file.string()));
  if (::ftruncate(fd.get(), static_cast<off_t>(kPage)) != 0) {
    return base::fail_errno(fmt::format("output file {}: ftruncate", file.string()));
  }
  void* mapped = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (mapped == MAP_FAILED)
    return base::fail_errno(fmt::format("output file {}: mmap", file.string()));
  auto* header = new (mapped) Header{};
  std::memcpy(header->magic, kMagic, sizeof kMagic);
  header->version = kVersion;
  header->data_offset = kPage;
  header->head_capacity = max_bytes / 4;
  header->tail_capacity = max_bytes - max_bytes / 4;
  header->total.store(0);
  header->reserved.store(0);
  return OutputFile(std::move(fd), header);
}

base::Result<OutputFile> OutputFile::open(const std::filesystem::path& file, Access access) {
  int flags = (access == Access::kWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW;
  base::UniqueFd fd(::open(file.c_str(), flags));
  if (!fd) return base::fail_errno(fmt::format("output file {}: open", file.string()));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || st.st_size < static_cast<off_t>(kPage)) {
    return base::fail(
        fmt::format("output file {} is too short to be a job's output log", file.string()));
  }
  int protection = access == Access::kWrite ? PROT_READ | PROT_WRITE : PROT_READ;
  void* mapped = ::mmap(nullptr, kPage, protection, MAP_SHARED, fd.get(), 0);
  if (mapped == MAP_FAILED)
    return base::fail_errno(fmt::format("output file {}: mmap", file.string()));
  auto* header = static_cast<Header*>(mapped);
  if (std::memcmp(header->magic, kMagic, sizeof kMagic) != 0 || header->version != kVersion ||
      header->data_offset != kPage || header->tail_capacity == 0) {
    ::munmap(mapped, kPage);
    return base::fail(
        fmt::format("output file {} is not a job output log of this version", file.string()));
  }
  return OutputFile(std::move(fd), header);
}

uint64_t OutputFile::max_bytes() const { return header_->head_capacity + header_->tail_capacity; }
uint64_t OutputFile::head_capacity() const { return header_->head_capacity; }
uint64_t OutputFile::total_bytes() const { return header_->total.load(std::memory_order_acquire); }
bool OutputFile::closed() const { return header_->closed.load(std::memory_order_acquire) != 0; }
uint64_t OutputFile::tail_start() const {
  return tail_start_at(total_bytes(), header_->head_capacity, header_->tail_capacity);
}

void OutputFile::mark_closed() { header_->closed.store(1, std::memory_order_release); }

base::Result<void> OutputFile::write_at(uint64_t position, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd_.get(), bytes.data(), bytes.size(),
                         static_cast<off_t>(header_->data_offset + position));
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::fail_errno("writing a job's output file");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    position += static_cast<uint64_t>(n);
  }
  return {};
}

base::Result<void> OutputFile::append(std::string_view bytes) {
  const uint64_t head = header_->head_capacity;
  const uint64_t ring = header_->tail_capacity;
  const uint64_t start = header_->total.load(std::memory_order_relaxed);  // ours alone to change
  uint64_t offset = start;
  std::string_view rest = bytes;
  if (offset < head) {
    size_t n = std::min<uint64_t>(head - offset, rest.size());
    if (auto written = write_at(offset, rest.substr(0, n)); !written) return written;
    offset += n;
    rest.remove_prefix(n);
  }
  header_->reserved.store(start + bytes.size());  // before any slot of the ring changes
  // More than the ring holds: only its last `ring` bytes would survive, so only they are written.
  if (rest.size() > ring) {
    offset += rest.size() - ring;
    rest.remove_prefix(rest.size() - ring);
  }
  while (!rest.empty()) {
    uint64_t slot = (offset - head) % ring;
    size_t n = std::min<uint64_t>(ring - slot, rest.size());
    if (auto written = write_at(head + slot, rest.substr(0, n)); !written) return written;
    offset += n;
    rest.remove_prefix(n);
  }
  header_->total.store(start + bytes.size());
  return {};
}

base::Result<OutputFile::Read> OutputFile::read(uint64_t from, uint64_t max) const {
  const uint64_t head = header_->head_capacity;
  const uint64_t ring = header_->tail_capacity;
  for (;;) {
    const uint64_t before = total_bytes();
    Read out;
    auto read_at = [&](uint64_t position, uint64_t count) -> base::Result<void> {
      size_t at = out.bytes.size();
      out.bytes.resize(at + count);
      while (count > 0) {
        ssize_t n = ::pread(fd_.get(), out.bytes.data() + at, count,
                            static_cast<off_t>(header_->data_offset + position));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return base::fail_errno("reading a job's output file", n == 0 ? EIO : errno);
        at += static_cast<size_t>(n);
        position += static_cast<uint64_t>(n);
        count -= static_cast<uint64_t>(n);
      }
      return {};
    };
    // The head is written once and never again: no second look needed.
    if (from < std::min(before, head)) {
      out.offset = from;
      uint64_t end = std::min({before, head, from + max});
      if (auto done = read_at(from, end - from); !done) return tl::unexpected(done.error());
      return out;
    }
    uint64_t begin = std::max(from, tail_start_at(before, head, ring));
    out.offset = std::min(begin, before);
    if (begin >= before) return out;
    uint64_t end = std::min(before, begin + max);
    for (uint64_t at = begin; at < end;) {
      uint64_t slot = (at - head) % ring;
      uint64_t n = std::min(ring - slot, end - at);
      if (auto done = read_at(head + slot, n); !done) return tl::unexpected(done.error());
      at += n;
    }
    // What the writer may have overwritten while we read is not returned.
    uint64_t still_kept = tail_start_at(header_->reserved.load(), head, ring);
    if (still_kept <= begin) return out;
    if (still_kept >= end) continue;  // all of it was overwritten: read again from the new tail
    out.bytes.erase(0, still_kept - begin);
    out.offset = still_kept;
    return out;
  }
}

}  // namespace store
