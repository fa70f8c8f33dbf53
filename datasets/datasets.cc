// The dataset library's anchor: the version of the dataset formats this build writes and reads.
namespace t2i::datasets {
extern const char* const kFormatVersion;
const char* const kFormatVersion = "cub-200-2011+text_c10";
}  // namespace t2i::datasets
