#include "core/zstd_buffer.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_decompressBound: experimental in Debian 12's zstd 1.5.4
#include <zstd.h>

#include <memory>
#include <string>

#include "core/sys_error.h"

namespace freezedry::core {

namespace {
struct CctxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
}  // namespace

Result<std::vector<uint8_t>> CompressBuffer(const uint8_t* data, size_t size, int level, int workers) {
  std::unique_ptr<ZSTD_CCtx, CctxFree> cctx(ZSTD_createCCtx());
  if (!cctx) return Failure(ENOMEM, "zstd", "cannot create a compression context");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_contentSizeFlag, 1);
  // Ignored (an error code) by a libzstd built without threads: then it compresses on this one.
  if (workers > 0) ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_nbWorkers, workers);
  std::vector<uint8_t> out(ZSTD_compressBound(size));
  size_t written = ZSTD_compress2(cctx.get(), out.data(), out.size(), data, size);
  if (ZSTD_isError(written)) return Failure(EIO, "zstd", ZSTD_getErrorName(written));
  out.resize(written);
  return out;
}

Result<std::vector<uint8_t>> DecompressBuffer(const uint8_t* data, size_t size) {
  unsigned long long content = ZSTD_getFrameContentSize(data, size);
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Failure(EBADMSG, "zstd", "not a zstd frame with a content size");
  }
  // The declared size comes from the sender: nothing is allocated for more than the frame's
  // blocks could ever hold, nor past a fixed ceiling.
  unsigned long long bound = ZSTD_decompressBound(data, size);
  if (bound == ZSTD_CONTENTSIZE_ERROR || content > bound) {
    return Failure(EBADMSG, "zstd", "the frame declares " + std::to_string(content) + " bytes, more than its blocks can hold");
  }
  if (content > kMaxDecompressedFrame) {
    return Failure(
        EFBIG, "zstd",
        "the frame declares " + std::to_string(content) + " bytes, more than the " + std::to_string(kMaxDecompressedFrame) + " accepted");
  }
  std::vector<uint8_t> out(content);
  size_t got = ZSTD_decompress(out.data(), out.size(), data, size);
  if (ZSTD_isError(got)) return Failure(EBADMSG, "zstd", ZSTD_getErrorName(got));
  if (got != content) return Failure(EBADMSG, "zstd", "frame shorter than its content size");
  return out;
}

}  // namespace freezedry::core
