#include "bft/abci/connection.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "fake_server.hpp"

namespace bft::abci {
namespace {

using namespace std::chrono_literals;
using testing::behave;
using testing::FakeServer;
using testing::framed;
using testing::Reply;

pb::Request echo_request(const std::string& message) {
  pb::Request request;
  request.mutable_echo()->set_message(message);
  return request;
}

std::unique_ptr<Connection> connect(const FakeServer& server, ConnectionOptions options = {}) {
  auto address = parse_socket_address(server.address());
  EXPECT_TRUE(address);
  auto connection = Connection::open(*address, "query", options);
  EXPECT_TRUE(connection) << connection.error().message;
  return connection ? std::move(*connection) : nullptr;
}

pb::Response flush_answer() {
  pb::Response response;
  response.mutable_flush();
  return response;
}

/// Answers Flush correctly and everything else with `answer`.
FakeServer::Behaviour answering_with(std::string answer, bool close = false) {
  return [answer, close](const pb::Request& request) {
    if (request.has_flush()) return Reply{framed(flush_answer())};
    return Reply{answer, close};
  };
}

/// The error of an Echo call, which must fail.
Error failed_echo(Connection& connection) {
  auto answer = connection.call(echo_request("hello"), "Echo");
  EXPECT_FALSE(answer);
  return answer ? Error{Errc::invalid_argument, "it succeeded"} : answer.error();
}

bool mentions(const Error& error, const std::string& text) { return error.message.find(text) != std::string::npos; }

TEST(AbciAddress, TcpAndUnixAddressesParse) {
  auto tcp = parse_socket_address("tcp://127.0.0.1:26658");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->kind, SocketAddress::Kind::tcp);
  EXPECT_EQ(tcp->host, "127.0.0.1");
  EXPECT_EQ(tcp->port, 26658);
  auto v6 = parse_socket_address("tcp://[::1]:1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  auto local = parse_socket_address("unix:///run/app.sock");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->kind, SocketAddress::Kind::unix_socket);
  EXPECT_EQ(local->path, "/run/app.sock");
}

TEST(AbciAddress, BadAddressesAreRefused) {
  for (const char* text : {"127.0.0.1:26658", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000",
                           "tcp://:80", "unix://relative.sock", "grpc://127.0.0.1:26658", "tcp://h:8x"}) {
    auto address = parse_socket_address(text);
    EXPECT_FALSE(address) << text;
    if (!address) {
      EXPECT_EQ(address.error().code, Errc::invalid_argument);
    }
  }
  EXPECT_FALSE(parse_socket_address("unix:///" + std::string(200, 'a')));
}

TEST(AbciConnection, EchoRoundTripsAndEachCallGetsItsOwnAnswer) {
  FakeServer server(behave);
  auto connection = connect(server);
  ASSERT_TRUE(connection);
  std::vector<std::thread> callers;
  std::atomic<int> matched{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string message = std::to_string(t) + "/" + std::to_string(i);
        auto answer = connection->call(echo_request(message), "Echo");
        if (answer && answer->echo().message() == message) ++matched;
      }
    });
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(matched.load(), 100);
  // Each call was followed by its Flush.
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 200u);
  for (std::size_t i = 0; i < requests.size(); i += 2) {
    EXPECT_TRUE(requests[i].has_echo());
    EXPECT_TRUE(requests[i + 1].has_flush());
  }
}

TEST(AbciConnection, AnAnswerLongerThanOneReadIsReassembled) {
  FakeServer server([](const pb::Request& request) {
    // Both answers in one reply, 100 KB: more than one 64 KiB read.
    if (request.has_flush()) return Reply{};
    return Reply{framed(testing::correct_answer(request)) + framed(flush_answer())};
  });
  auto connection = connect(server);
  ASSERT_TRUE(connection);
  auto answer = connection->call(echo_request(std::string(100'000, 'e')), "Echo");
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->echo().message().size(), 100'000u);
}

TEST(AbciConnection, AClosedSocketBreaksTheConnectionForGood) {
  FakeServer server(answering_with("", /*close=*/true));
  auto connection = connect(server);
  ASSERT_TRUE(connection);
  const Error first = failed_echo(*connection);
  EXPECT_EQ(first.code, Errc::io_error);
  EXPECT_TRUE(mentions(first, "ABCI Echo on the query connection")) << first.message;
  EXPECT_TRUE(mentions(first, "closed")) << first.message;
  // Later calls fail at once with the first error, naming their own method.
  auto later = connection->call(echo_request("again"), "Query");
  ASSERT_FALSE(later);
  EXPECT_TRUE(mentions(later.error(), "ABCI Query")) << later.error().message;
  EXPECT_TRUE(mentions(later.error(), "closed")) << later.error().message;
}

TEST(AbciConnection, GarbageIsMalformed) {
  FakeServer server(answering_with(std::string(11, '\xff')));
  auto connection = connect(server);
  ASSERT_TRUE(connection);
  EXPECT_EQ(failed_echo(*connection).code, Errc::malformed);
}

TEST(AbciConnection, AFrameThatIsNotAResponseIsMalformed) {
  std::string not_protobuf;
  append_frame(not_protobuf, "\xff\xff\xff");
  FakeServer server(answering_with(not_protobuf));
  auto connection = connect(server);
  ASSERT_TRUE(connection);
  const Error error = failed_echo(*connection);
  EXPECT_EQ(error.code, Errc::malformed);
  EXPECT_TRUE(mentions(error, "not a Response")) << error.message;
}

TEST(AbciConnection, AnAnswerOfTheWrongTypeIsMalformed) {
  pb::Response info;
  info.mutable_info()->set_last_block_height(5);
  FakeServer server(answering_with(framed(info)));
  auto connection = connect(server);
  ASSERT_TRUE(connection);
  const Error error = failed_echo(*connection);
  EXPECT_EQ(error.code, Errc::malformed);
  EXPECT_TRUE(mentions(error, "answered with Info where Echo was due")) << error.message;
}

TEST(AbciConnection, AFlushAnsweredWithSomethingElseIsMalformed) {
  FakeServer server([](const pb::Request& request) {
    pb::Response echo;
    echo.mutable_echo();
    return Reply{framed(request.has_flush() ? echo : testing::correct_answer(request))};
  });
  auto connection = connect(server);
  ASSERT_TRUE(connection);
  const Error error = failed_echo(*connection);
  EXPECT_EQ(error.code, Errc::malformed);
  EXPECT_TRUE(mentions(error, "answered the Flush with Echo")) << error.message;
}

TEST(AbciConnection, AnExceptionIsAnErrorWithTheApplicationsText) {
  pb::Response exception;
  exception.mutable_exception()->set_error("database on fire");
  FakeServer server(answering_with(framed(exception)));
  auto connection = connect(server);
  ASSERT_TRUE(connection);
  const Error error = failed_echo(*connection);
  EXPECT_EQ(error.code, Errc::invalid_argument);
  EXPECT_TRUE(mentions(error, "database on fire")) << error.message;
}

TEST(AbciConnection, SilencePastTheDeadlineFails) {
  FakeServer server([](const pb::Request&) { return Reply{}; });
  ConnectionOptions options;
  options.call_timeout = 200ms;
  auto connection = connect(server, options);
  ASSERT_TRUE(connection);
  const auto start = std::chrono::steady_clock::now();
  const Error error = failed_echo(*connection);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(error.code, Errc::io_error);
  EXPECT_TRUE(mentions(error, "no answer within 200 ms")) << error.message;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
}

TEST(AbciConnection, AnOversizedAnswerIsRefused) {
  std::string huge;
  append_varint(huge, 1 << 20);
  FakeServer server(answering_with(huge));
  ConnectionOptions options;
  options.max_response_bytes = 1024;
  auto connection = connect(server, options);
  ASSERT_TRUE(connection);
  EXPECT_EQ(failed_echo(*connection).code, Errc::too_large);
}

TEST(AbciConnection, AnApplicationThatStartsLateIsWaitedFor) {
  FakeServer server(behave, 300ms);
  auto address = parse_socket_address(server.address());
  ASSERT_TRUE(address);
  ConnectionOptions options;
  options.connect_timeout = 5s;
  auto connection = Connection::open(*address, "consensus", options);
  ASSERT_TRUE(connection) << connection.error().message;
  EXPECT_TRUE((*connection)->call(echo_request("late"), "Echo"));
}

TEST(AbciConnection, NoApplicationIsAClearErrorAfterTheConnectTimeout) {
  auto address = parse_socket_address("unix:///nonexistent-bftcore-test/app.sock");
  ASSERT_TRUE(address);
  ConnectionOptions options;
  options.connect_timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto connection = Connection::open(*address, "consensus", options);
  ASSERT_FALSE(connection);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(connection.error().code, Errc::io_error);
  EXPECT_TRUE(mentions(connection.error(), "cannot connect the ABCI consensus connection to "
                                           "unix:///nonexistent-bftcore-test/app.sock within 300 ms"))
      << connection.error().message;
}

}  // namespace
}  // namespace bft::abci
