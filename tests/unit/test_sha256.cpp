// SHA-256 against FIPS 180-4 / NIST example vectors, and hex encoding round trips.
#include <gtest/gtest.h>

#include "core/sha256.h"

namespace cacheon {
namespace {

TEST(Sha256Test, KnownVectors) {
  struct Case {
    std::string input;
    const char* hex;
  };
  const Case cases[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(sha256_hex(c.input), c.hex) << c.input.substr(0, 20);
    Sha256Digest d = sha256(c.input);
    EXPECT_EQ(hex_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size())),
              c.hex);
  }
}

TEST(Sha256Test, BinaryInput) {
  // printf '\x00\xff' | sha256sum
  EXPECT_EQ(sha256_hex(std::string("\0\xff", 2)),
            "06eb7d6a69ee19e5fbdf749018d3d2abfa04bcbd1365db312eb86dc7169389b8");
}

TEST(Sha256Test, HexEncode) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode(std::string("\x00\x01\x7f\x80\xff", 5)), "00017f80ff");
  EXPECT_EQ(hex_encode("Az"), "417a");
}

TEST(Sha256Test, HexDecodeAccepts) {
  struct Case {
    const char* hex;
    std::string bytes;
  };
  const Case cases[] = {
      {"", ""},
      {"0x", ""},
      {"00", std::string(1, '\0')},
      {"417a", "Az"},
      {"0x417A", "Az"},
      {"0X417a", "Az"},
      {"00017f80FF", std::string("\x00\x01\x7f\x80\xff", 5)},
  };
  for (const Case& c : cases) {
    Result<std::string> r = hex_decode(c.hex);
    ASSERT_TRUE(r.ok()) << c.hex << ": " << r.error().message;
    EXPECT_EQ(*r, c.bytes) << c.hex;
  }
}

TEST(Sha256Test, HexDecodeRejects) {
  for (const char* bad : {"0", "abc", "0x0", "zz", "0xg0", "12 34", "0x0x12", "xx12", "-1"}) {
    Result<std::string> r = hex_decode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "bad_hex") << bad;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(Sha256Test, HexRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  Result<std::string> back = hex_decode(hex_encode(all));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

}  // namespace
}  // namespace cacheon
