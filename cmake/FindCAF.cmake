# Finds Debian's libcaf-dev (0.17), which ships neither a CMake package config
# nor a pkg-config file. Usage:
#   find_package(CAF 0.17 REQUIRED COMPONENTS core)
# Creates the imported targets CAF::<component> and the classic variables
# CAF_FOUND, CAF_VERSION, CAF_INCLUDE_DIRS and CAF_LIBRARIES.
if(NOT CAF_FIND_COMPONENTS)
  set(CAF_FIND_COMPONENTS core)
endif()

find_path(CAF_INCLUDE_DIR NAMES caf/config.hpp)
mark_as_advanced(CAF_INCLUDE_DIR)

if(CAF_INCLUDE_DIR)
  # config.hpp encodes the version as one number, e.g. 1706 for 0.17.6.
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" caf_version_number "${caf_version_line}")
  math(EXPR caf_major "${caf_version_number} / 10000")
  math(EXPR caf_minor "(${caf_version_number} / 100) % 100")
  math(EXPR caf_patch "${caf_version_number} % 100")
  set(CAF_VERSION "${caf_major}.${caf_minor}.${caf_patch}")
endif()

set(CAF_INCLUDE_DIRS "${CAF_INCLUDE_DIR}")
set(CAF_LIBRARIES "")
foreach(component IN LISTS CAF_FIND_COMPONENTS)
  string(TOUPPER "${component}" component_upper)
  find_library(CAF_LIBRARY_${component_upper} NAMES caf_${component})
  mark_as_advanced(CAF_LIBRARY_${component_upper})
  if(CAF_LIBRARY_${component_upper} AND CAF_INCLUDE_DIR)
    set(CAF_${component}_FOUND TRUE)
    list(APPEND CAF_LIBRARIES "${CAF_LIBRARY_${component_upper}}")
    if(NOT TARGET CAF::${component})
      add_library(CAF::${component} SHARED IMPORTED)
      set_target_properties(CAF::${component} PROPERTIES
        IMPORTED_LOCATION "${CAF_LIBRARY_${component_upper}}"
        INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
      if(NOT component STREQUAL "core")
        set_property(TARGET CAF::${component} APPEND PROPERTY
                     INTERFACE_LINK_LIBRARIES CAF::core)
      endif()
    endif()
  else()
    set(CAF_${component}_FOUND FALSE)
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_INCLUDE_DIR CAF_LIBRARIES
  VERSION_VAR CAF_VERSION
  HANDLE_COMPONENTS)
