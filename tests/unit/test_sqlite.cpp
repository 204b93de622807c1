#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/sqlite.h"

namespace cacheon {
namespace {

SqliteDb memory_db() {
  auto db = SqliteDb::open(":memory:");
  EXPECT_TRUE(db.ok());
  return std::move(db.value());
}

TEST(Sqlite, BindsAndReadsEveryType) {
  SqliteDb db = memory_db();
  ASSERT_TRUE(db.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n TEXT);"));
  auto ins = db.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)");
  ASSERT_TRUE(ins.ok());
  std::string blob("a\0b", 3);
  ins->bind(1, int64_t{-7}).bind(2, 2.5).bind(3, "text").bind_blob(4, blob).bind(5,
      std::optional<std::string>{});
  ASSERT_TRUE(ins->run());
  EXPECT_EQ(db.last_insert_rowid(), 1);
  auto sel = db.prepare("SELECT i, d, s, b, n FROM t");
  ASSERT_TRUE(sel.ok());
  auto row = sel->step();
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(*row);
  EXPECT_EQ(sel->column_int(0), -7);
  EXPECT_DOUBLE_EQ(sel->column_double(1), 2.5);
  EXPECT_EQ(sel->column_text(2), "text");
  EXPECT_EQ(sel->column_blob(3), blob);
  EXPECT_TRUE(sel->column_is_null(4));
  EXPECT_FALSE(sel->column_opt_text(4).has_value());
  EXPECT_FALSE(*sel->step());
}

TEST(Sqlite, ConstraintViolationHasItsOwnCode) {
  SqliteDb db = memory_db();
  ASSERT_TRUE(db.exec("CREATE TABLE u (k TEXT PRIMARY KEY);"));
  auto ins = db.prepare("INSERT INTO u VALUES (?)");
  ASSERT_TRUE(ins.ok());
  ASSERT_TRUE(ins->bind(1, "x").run());
  ins->reset();
  Status again = ins->bind(1, "x").run();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "sqlite_constraint");
}

TEST(Sqlite, BadSqlIsAnErrorNotACrash) {
  SqliteDb db = memory_db();
  auto bad = db.prepare("SELEC nonsense");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "sqlite_error");
  EXPECT_FALSE(db.exec("CREATE TABLE (").ok());
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  auto dir = std::filesystem::temp_directory_path() / "cacheon-sqlite-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string path = (dir / "db.sqlite").string();
  {
    auto db = SqliteDb::open(path);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE(db->exec("CREATE TABLE t (v INTEGER);"));
    {
      auto tx = SqliteTx::begin(*db);
      ASSERT_TRUE(tx.ok());
      ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1);"));
    }  // dropped: rolled back
    {
      auto tx = SqliteTx::begin(*db);
      ASSERT_TRUE(tx.ok());
      ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2);"));
      ASSERT_TRUE(tx->commit());
    }
  }
  auto ro = SqliteDb::open(path, {.read_only = true});
  ASSERT_TRUE(ro.ok());
  auto sel = ro->prepare("SELECT group_concat(v) FROM t");
  ASSERT_TRUE(sel.ok());
  ASSERT_TRUE(*sel->step());
  EXPECT_EQ(sel->column_text(0), "2");
  // Read-only really is read-only.
  EXPECT_FALSE(ro->exec("INSERT INTO t VALUES (3);").ok());
  std::filesystem::remove_all(dir);
}

TEST(Sqlite, MissingFileWithoutCreateIsAnError) {
  auto r = SqliteDb::open("/nonexistent-dir/x.sqlite", {.create = false});
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace cacheon

namespace cacheon {
namespace {

TEST(Sqlite, EmptyTextIsEmptyNotNull) {
  auto db = SqliteDb::open(":memory:");
  ASSERT_TRUE(db.ok());
  auto sel = db->prepare("SELECT ? IS NULL, ? IS NULL, length(?)");
  ASSERT_TRUE(sel.ok());
  sel->bind(1, std::string_view()).bind_blob(2, std::string_view()).bind(3, std::string(""));
  ASSERT_TRUE(*sel->step());
  EXPECT_EQ(sel->column_int(0), 0);
  EXPECT_EQ(sel->column_int(1), 0);
  EXPECT_EQ(sel->column_int(2), 0);
}

}  // namespace
}  // namespace cacheon
