# cmake --install: the executable, the job templates, analysis scripts and Python package under
# share/tally/, and the documentation. A batch application is used through its
# executable, so no library targets or CMake package files are exported.
include(GNUInstallDirs)
# Keep the paths to MPI and HDF5 libraries outside the system directories (Spack,
# modules) in the installed binary, so it runs without LD_LIBRARY_PATH.
set_target_properties(tally PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
install(TARGETS tally RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(PROGRAMS jobs/tally.sbatch jobs/sweep.sbatch jobs/analyze.sbatch jobs/pipeline
        DESTINATION ${CMAKE_INSTALL_DATADIR}/tally/jobs)
install(PROGRAMS scripts/slurm-local DESTINATION ${CMAKE_INSTALL_DATADIR}/tally/scripts)
# The Python package beside the scripts, which find it as ../python; users set
# PYTHONPATH=<prefix>/share/tally/python to `import tally`, or pip-install that
# directory (its pyproject.toml) into an environment (docs/python.md).
option(TALLY_PYTHON_PACKAGE "Install the tally Python package and the analysis scripts" ON)
if(TALLY_PYTHON_PACKAGE)
  install(PROGRAMS scripts/analyze scripts/reference DESTINATION ${CMAKE_INSTALL_DATADIR}/tally/scripts)
  install(FILES scripts/lib/python.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/tally/scripts/lib)
  install(DIRECTORY python/tally DESTINATION ${CMAKE_INSTALL_DATADIR}/tally/python
          FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
  install(FILES python/pyproject.toml python/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/tally/python)
endif()
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
