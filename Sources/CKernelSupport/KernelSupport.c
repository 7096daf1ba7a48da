// CKernelSupport is header-only (static inline functions in include/CKernelSupport.h); a C
// target still needs one source file.
#include "CKernelSupport.h"
