// Column-aligned text tables for human output. Numbers read best right-aligned
// and text left-aligned, so alignment is per column.
#ifndef HAKD_CLI_TABLE_H_
#define HAKD_CLI_TABLE_H_

#include <string>
#include <vector>

namespace hakd::cli {

// A table of strings rendered with columns padded to their widest cell.
class Table {
 public:
  // How a column's cells are padded.
  enum class Align { kLeft, kRight };

  // A table with these column headers, all left-aligned.
  explicit Table(std::vector<std::string> headers);

  // Right-aligns column `column` (header included), for numbers.
  void AlignRight(size_t column);

  // Appends a row; missing cells are empty and extra cells are dropped, so a
  // caller's mistake shows as a blank rather than a shifted table.
  void AddRow(std::vector<std::string> cells);

  // Number of rows added.
  size_t rows() const { return rows_.size(); }

  // The table, header first, columns separated by two spaces, one line per
  // row ending in '\n', no trailing blanks.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace hakd::cli

#endif  // HAKD_CLI_TABLE_H_
