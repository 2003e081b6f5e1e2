#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace hearth {

MappedFile::~MappedFile() {
  reset();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
    path_ = std::move(other.path_);
  }
  return *this;
}

void MappedFile::reset() {
  if (addr_ != nullptr && size_ > 0) munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
}

Expected<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string reason = std::strerror(err);
    if (err == ENOENT) return not_found("cannot open '" + path + "': " + reason);
    return io_error("cannot open '" + path + "': " + reason);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    return io_error("cannot stat '" + path + "': " + reason);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return invalid_argument("'" + path + "' is a directory, not a file");
  }
  MappedFile mf;
  mf.path_ = path;
  mf.size_ = static_cast<size_t>(st.st_size);
  if (mf.size_ > 0) {
    void* addr = mmap(nullptr, mf.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      const std::string reason = std::strerror(errno);
      ::close(fd);
      mf.size_ = 0;
      return io_error("cannot mmap '" + path + "': " + reason);
    }
    mf.addr_ = addr;
  }
  ::close(fd);
  return mf;
}

void MappedFile::advise_willneed() const {
  if (addr_ != nullptr) madvise(addr_, size_, MADV_WILLNEED);
}

}  // namespace hearth
