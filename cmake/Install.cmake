# Installation rules (executable, jobs/, scripts/, docs/) — see docs/install.md.
include(GNUInstallDirs)
