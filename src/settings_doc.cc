// settings-doc: prints docs/settings.md, made from the settings table that --help prints.
// `make settings-doc` writes it; tests/unit/config/settings_doc_test.cc fails while they differ.
#include <cstdio>

#include "config/help.h"

int main() {
  const std::string doc = config::settings_markdown();
  return std::fwrite(doc.data(), 1, doc.size(), stdout) == doc.size() ? 0 : 1;
}
