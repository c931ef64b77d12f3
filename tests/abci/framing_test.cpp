#include "bft/abci/framing.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace bft::abci {
namespace {

std::string varint(std::uint64_t value) {
  std::string out;
  append_varint(out, value);
  return out;
}

std::span<const char> span_of(const std::string& bytes) { return {bytes.data(), bytes.size()}; }

TEST(AbciFraming, VarintsAreLittleEndianBase128) {
  EXPECT_EQ(varint(0), std::string("\x00", 1));
  EXPECT_EQ(varint(1), "\x01");
  EXPECT_EQ(varint(127), "\x7f");
  EXPECT_EQ(varint(128), "\x80\x01");
  EXPECT_EQ(varint(300), "\xac\x02");
  EXPECT_EQ(varint(std::numeric_limits<std::uint64_t>::max()), std::string(9, '\xff') + "\x01");
}

TEST(AbciFraming, FramesSurviveByteByByteDelivery) {
  const std::string bodies[] = {"", "a", std::string(200, 'x'), std::string(70'000, 'y')};
  std::string stream;
  for (const std::string& body : bodies) append_frame(stream, body);
  FrameDecoder decoder(1 << 20);
  std::size_t next = 0;
  for (char byte : stream) {
    decoder.feed(std::span<const char>(&byte, 1));
    while (true) {
      auto frame = decoder.next();
      ASSERT_TRUE(frame) << frame.error().message;
      if (!*frame) break;
      ASSERT_LT(next, std::size(bodies));
      EXPECT_EQ(**frame, bodies[next++]);
    }
  }
  EXPECT_EQ(next, std::size(bodies));
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(AbciFraming, SeveralFramesInOneRead) {
  std::string stream;
  append_frame(stream, "first");
  append_frame(stream, "second");
  stream += "\x05" "thi";  // the start of a third
  FrameDecoder decoder(100);
  decoder.feed(span_of(stream));
  EXPECT_EQ(**decoder.next(), "first");
  EXPECT_EQ(**decoder.next(), "second");
  EXPECT_FALSE(*decoder.next());
  EXPECT_EQ(decoder.buffered(), 4u);
  decoder.feed(span_of("rd"));
  EXPECT_EQ(**decoder.next(), "third");
}

TEST(AbciFraming, AnOversizedLengthIsRefusedBeforeItsBody) {
  FrameDecoder decoder(1000);
  decoder.feed(span_of(varint(1001)));
  auto frame = decoder.next();
  ASSERT_FALSE(frame);
  EXPECT_EQ(frame.error().code, Errc::too_large);
  EXPECT_NE(frame.error().message.find("1001"), std::string::npos);

  FrameDecoder at_limit(1000);
  at_limit.feed(span_of(varint(1000)));
  auto waiting = at_limit.next();
  ASSERT_TRUE(waiting);
  EXPECT_FALSE(*waiting);
}

TEST(AbciFraming, OverlongAndOverflowingLengthsAreMalformed) {
  FrameDecoder too_long(1000);
  too_long.feed(span_of(std::string(10, '\x80') + "\x01"));
  auto frame = too_long.next();
  ASSERT_FALSE(frame);
  EXPECT_EQ(frame.error().code, Errc::malformed);

  FrameDecoder overflowing(1000);
  overflowing.feed(span_of(std::string(9, '\xff') + "\x02"));
  frame = overflowing.next();
  ASSERT_FALSE(frame);
  EXPECT_EQ(frame.error().code, Errc::malformed);
}

TEST(AbciFraming, AnIncompleteLengthWaitsForMore) {
  FrameDecoder decoder(1 << 20);
  decoder.feed(span_of("\x80"));
  auto frame = decoder.next();
  ASSERT_TRUE(frame);
  EXPECT_FALSE(*frame);
  decoder.feed(span_of(std::string("\x01") + std::string(128, 'z')));
  EXPECT_EQ(**decoder.next(), std::string(128, 'z'));
}

}  // namespace
}  // namespace bft::abci
