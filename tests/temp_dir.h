#pragma once
// A fresh directory under the system's temporary directory, removed with everything in it when the
// test that made it ends (mkdtemp: unique even when ctest runs tests in parallel).

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

namespace hnn::test {

class TempDir {
public:
    explicit TempDir(const std::string &prefix = "hnn-test") {
        std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }

    // The path of a file in the directory.
    std::string operator/(const std::string &name) const { return (path / name).string(); }

    // The names of what the directory holds now.
    std::set<std::string> entries() const {
        std::set<std::string> names;
        for (const auto &e : std::filesystem::directory_iterator(path)) names.insert(e.path().filename().string());
        return names;
    }

    std::filesystem::path path;
};

}  // namespace hnn::test
