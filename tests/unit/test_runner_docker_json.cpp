// The Docker Engine API parsers (runner/docker_json.h) on real daemon answers (podman 4.3's
// compat service, captured) and on hostile ones: truncated or lying log frames, non-JSON,
// wrong types, over-long fields.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runner/docker_json.h"

namespace cacheon::runner::docker {
namespace {
using nlohmann::json;

std::string frame(uint8_t stream, std::string_view payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  uint32_t n = static_cast<uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + std::string(payload);
}

// Feeds `data` in pieces of `step` bytes (0: all at once) and finishes.
Result<std::string> demux(std::string_view data, size_t step,
                          LogDemuxer::Mode mode = LogDemuxer::Mode::detect,
                          size_t max_frame = 16 * 1024 * 1024) {
  LogDemuxer d(mode, max_frame);
  std::string out;
  if (step == 0) step = data.size() + 1;
  for (size_t i = 0; i < data.size(); i += step)
    if (Status s = d.feed(data.substr(i, step), out); !s.ok()) return s.error();
  if (Status s = d.finish(out); !s.ok()) return s.error();
  return out;
}

TEST(RunnerLogDemuxer, MultiplexedFramesAnySplit) {
  std::string data = frame(1, "hello\n") + frame(2, "err\n") + frame(1, "") + frame(1, "bye\n");
  for (size_t step : {0, 1, 3, 7, 8, 9}) {
    auto r = demux(data, step);
    ASSERT_TRUE(r.ok()) << step << ": " << r.error().message;
    EXPECT_EQ(*r, "hello\nerr\nbye\n") << step;
  }
}

TEST(RunnerLogDemuxer, RawStreamPassesThrough) {
  for (std::string data : {std::string("hello\nworld\n"), std::string("ab"), std::string(),
                           std::string("\x01\0\0x", 4)}) {
    for (size_t step : {0, 1, 2}) {
      auto r = demux(data, step);
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ(*r, data);
    }
  }
  LogDemuxer forced(LogDemuxer::Mode::raw);
  std::string out;
  ASSERT_TRUE(forced.feed(frame(1, "x"), out).ok());
  EXPECT_EQ(out.size(), 9u);  // raw mode: the header bytes are output too
}

TEST(RunnerLogDemuxer, HostileFrames) {
  struct Case {
    const char* name;
    std::string data;
    LogDemuxer::Mode mode;
  };
  std::string huge = frame(1, "");
  huge[4] = huge[5] = huge[6] = huge[7] = '\xff';  // declares 4 GiB - 1
  std::string bad_stream = frame(1, "ok") + frame(1, "x");
  bad_stream[10] = 9;  // the second header's stream byte
  std::string bad_pad = frame(2, "ok") + frame(1, "x");
  bad_pad[11] = 1;
  std::vector<Case> cases = {
      {"truncated payload", frame(1, "hello").substr(0, 10), LogDemuxer::Mode::detect},
      {"truncated header", frame(1, "hello") + std::string("\x01\0\0\0\0", 5),
       LogDemuxer::Mode::detect},
      {"huge declared length", huge + "abc", LogDemuxer::Mode::detect},
      {"bad stream byte", bad_stream, LogDemuxer::Mode::detect},
      {"non-zero padding", bad_pad, LogDemuxer::Mode::detect},
      {"forced mux on text", "hello world\n", LogDemuxer::Mode::multiplexed},
  };
  for (const auto& c : cases) {
    for (size_t step : {0, 1, 5}) {
      auto r = demux(c.data, step, c.mode);
      ASSERT_FALSE(r.ok()) << c.name << " step " << step;
      EXPECT_EQ(r.error().code, runtime_code::kBadResponse) << c.name;
    }
  }
}

TEST(RunnerLogDemuxer, FrameCapAndStickyFailure) {
  auto r = demux(frame(1, std::string(100, 'x')), 0, LogDemuxer::Mode::detect, 99);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("frame of 100 bytes"), std::string::npos);
  LogDemuxer d;
  std::string out;
  EXPECT_TRUE(d.feed(std::string("\x07\0\0\0\0\0\0\0", 8), out).ok());
  EXPECT_EQ(d.mode(), LogDemuxer::Mode::raw);  // 7 is no stream byte: raw text
  LogDemuxer m(LogDemuxer::Mode::multiplexed);
  EXPECT_FALSE(m.feed(std::string("\x07\0\0\0\0\0\0\0", 8), out).ok());
  EXPECT_FALSE(m.feed(frame(1, "fine"), out).ok());  // stays failed
}

TEST(RunnerDockerJson, PodmanImageInspect) {
  auto j = parse_json(R"({"Id":"sha256:827b","RepoTags":["localhost/bb:test"],
    "RepoDigests":["127.0.0.1:5999/bb@sha256:4ffd"],"Size":1986920,
    "Config":{"User":"","Env":["PATH=/bin"],"Cmd":null,"Entrypoint":["/bin/busybox"],
    "ExposedPorts":{"8000/tcp":{}},"Labels":{"io.buildah.version":"1.28.2"}}})",
                      "inspect");
  ASSERT_TRUE(j.ok());
  auto info = parse_image_info(*j);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->id, "sha256:827b");
  EXPECT_EQ(info->size, 1986920);
  EXPECT_EQ(info->repo_digests, std::vector<std::string>{"127.0.0.1:5999/bb@sha256:4ffd"});
  EXPECT_EQ(info->entrypoint, std::vector<std::string>{"/bin/busybox"});
  EXPECT_TRUE(info->cmd.empty());
  EXPECT_EQ(info->exposed_ports, std::vector<std::string>{"8000/tcp"});
}

TEST(RunnerDockerJson, WrongTypesAreBadResponses) {
  const char* cases[] = {
      R"([])",
      R"({"Id":5})",
      R"({"Id":"sha256:1","Size":"big"})",
      R"({"Id":"sha256:1","Size":-1})",
      R"({"Id":"sha256:1","Size":1e300})",
      R"({"Id":"sha256:1","Size":18446744073709551615})",
      R"({"Id":"sha256:1","RepoDigests":[1]})",
      R"({"Id":"sha256:1","Config":[]})",
      R"({"Id":"sha256:1","Config":{"User":{}}})",
      R"({"Id":"sha256:1","Config":{"ExposedPorts":"8000"}})",
      R"({"Size":1})",
  };
  for (const char* c : cases) {
    auto j = parse_json(c, "t");
    ASSERT_TRUE(j.ok()) << c;
    auto r = parse_image_info(*j);
    ASSERT_FALSE(r.ok()) << c;
    EXPECT_EQ(r.error().code, runtime_code::kBadResponse) << c;
  }
  for (const char* text : {"", "{", "nope", "{\"a\":1}garbage", "\xff\xfe"}) {
    auto r = parse_json(text, "inspect image X");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, runtime_code::kBadResponse);
    EXPECT_NE(r.error().message.find("inspect image X"), std::string::npos);
  }
}

TEST(RunnerDockerJson, ContainerInspect) {
  auto j = parse_json(R"({"Id":"8684","Name":"/h1c","Image":"sha256:827b",
    "State":{"Status":"exited","Running":false,"OOMKilled":true,"Pid":0,"ExitCode":137,
             "Error":""},
    "Config":{"Labels":{"cacheon.test":"1"},"Tty":false},
    "NetworkSettings":{"Networks":{"h1net":{"IPAddress":"10.89.1.2"},"other":{"IPAddress":""}}}})",
                      "t");
  ASSERT_TRUE(j.ok());
  auto c = parse_container_info(*j);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->name, "h1c");
  EXPECT_EQ(c->state.status, "exited");
  EXPECT_TRUE(c->state.oom_killed);
  EXPECT_EQ(c->state.exit_code, 137);
  EXPECT_EQ(c->labels.at("cacheon.test"), "1");
  EXPECT_EQ(c->ip_by_network, (std::map<std::string, std::string>{{"h1net", "10.89.1.2"}}));
  for (const char* bad : {R"({"Id":"1","State":{"ExitCode":4294967296}})",
                          R"({"Id":"1","State":{"Running":"yes"}})",
                          R"({"Id":"1","Config":{"Labels":{"a":1}}})",
                          R"({"Id":"1","NetworkSettings":{"Networks":{"n":[]}}})",
                          R"({"Id":"1","NetworkSettings":{"Networks":{"n":{"IPAddress":7}}}})"}) {
    auto r = parse_container_info(*parse_json(bad, "t"));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, runtime_code::kBadResponse);
  }
}

TEST(RunnerDockerJson, ListsAndSmallAnswers) {
  auto cl = parse_container_list(*parse_json(
      R"([{"Id":"a","Names":["/x"],"State":"running","Labels":{"k":"v"}},{"Id":"b"}])", "t"));
  ASSERT_TRUE(cl.ok());
  ASSERT_EQ(cl->size(), 2u);
  EXPECT_EQ((*cl)[0].names, std::vector<std::string>{"x"});
  EXPECT_EQ((*cl)[0].labels.at("k"), "v");
  EXPECT_FALSE(parse_container_list(*parse_json(R"([{"Names":[]}])", "t")).ok());
  EXPECT_FALSE(parse_container_list(*parse_json(R"({})", "t")).ok());
  auto nl = parse_network_list(*parse_json(
      R"([{"Name":"n","Id":"1","Internal":true,"Labels":{"cacheon.test":"9"}}])", "t"));
  ASSERT_TRUE(nl.ok());
  EXPECT_TRUE((*nl)[0].internal);
  EXPECT_FALSE(parse_network_list(*parse_json(R"([{"Name":"n","Internal":1}])", "t")).ok());
  EXPECT_EQ(*parse_created_id(*parse_json(R"({"Id":"abc","Warnings":[]})", "t")), "abc");
  EXPECT_FALSE(parse_created_id(*parse_json(R"({"Warnings":[]})", "t")).ok());
  EXPECT_EQ(*parse_wait_status(*parse_json(R"({"StatusCode":137,"Error":null})", "t")), 137);
  EXPECT_FALSE(parse_wait_status(*parse_json(R"({"Error":null})", "t")).ok());
  EXPECT_FALSE(parse_wait_status(*parse_json(R"({"StatusCode":"0"})", "t")).ok());
}

TEST(RunnerDockerJson, DaemonErrorMessage) {
  EXPECT_EQ(daemon_error_message(R"({"cause":"x","message":"no such image","response":404})"),
            "no such image");
  EXPECT_EQ(daemon_error_message("plain\ntext  "), "plain text");
  EXPECT_EQ(daemon_error_message(""), "(no message)");
  EXPECT_EQ(daemon_error_message(std::string(10000, 'a')).size(), 512u);
}

TEST(RunnerDockerJson, PullMessages) {
  auto ok = parse_pull_message(
      R"({"status":"Downloading","progressDetail":{"current":10,"total":20},"id":"827b"})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->progress.status, "Downloading");
  EXPECT_EQ(ok->progress.current, 10);
  EXPECT_EQ(ok->progress.total, 20);
  EXPECT_FALSE(ok->error);
  // podman 4.3 sends both fields; older daemons only one of them.
  for (const char* e : {R"({"progressDetail":{},"errorDetail":{"message":"manifest unknown"},
                            "error":"manifest unknown"})",
                        R"({"error":"manifest unknown"})",
                        R"({"errorDetail":{"message":"manifest unknown"}})"}) {
    auto m = parse_pull_message(e);
    ASSERT_TRUE(m.ok()) << e;
    ASSERT_TRUE(m->error) << e;
    EXPECT_EQ(*m->error, "manifest unknown");
  }
  auto empty_error = parse_pull_message(R"({"error":""})");
  ASSERT_TRUE(empty_error.ok());
  EXPECT_TRUE(empty_error->error);  // an error field, even empty, is a failure
  for (const char* bad : {"", "[]", "not json", R"({"status":1})",
                          R"({"progressDetail":{"current":"1"}})", R"({"errorDetail":"x"})"})
    EXPECT_FALSE(parse_pull_message(bad).ok()) << bad;
  EXPECT_TRUE(is_pull_success({"Download complete", "827b", 0, 0}));
  EXPECT_TRUE(is_pull_success({"Status: Downloaded newer image for x@sha256:1", "", 0, 0}));
  EXPECT_FALSE(is_pull_success({"Downloading", "827b", 1, 2}));
  EXPECT_FALSE(is_pull_success({}));
}

TEST(RunnerDockerJson, SplitReference) {
  const std::string hex(64, 'a');
  struct Case {
    std::string in;
    bool ok;
    std::string repo, digest;
  };
  std::vector<Case> cases = {
      {"127.0.0.1:5000/x@sha256:" + hex, true, "127.0.0.1:5000/x", "sha256:" + hex},
      {"docker.io/library/busybox:1.36", true, "docker.io/library/busybox:1.36", ""},
      {"", false, "", ""},
      {"@sha256:" + hex, false, "", ""},
      {"x@sha256:" + hex.substr(1), false, "", ""},
      {"x@sha256:" + std::string(64, 'A'), false, "", ""},
      {"x@sha512:" + hex, false, "", ""},
      {"x y@sha256:" + hex, false, "", ""},
      {"x\n@sha256:" + hex, false, "", ""},
      {std::string(600, 'a'), false, "", ""},
  };
  for (const auto& c : cases) {
    auto r = split_reference(c.in);
    ASSERT_EQ(r.ok(), c.ok) << c.in;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, runtime_code::kPullFailed);
      continue;
    }
    EXPECT_EQ(r->repo, c.repo);
    EXPECT_EQ(r->digest, c.digest);
  }
}

TEST(RunnerDockerJson, Encoding) {
  EXPECT_EQ(query_encode("sha256:ab/c d&e=f"), "sha256%3Aab%2Fc%20d%26e%3Df");
  EXPECT_EQ(path_encode("127.0.0.1:5000/x@sha256:ab", true), "127.0.0.1:5000/x@sha256:ab");
  EXPECT_EQ(path_encode("../x?y#z", false), "..%2Fx%3Fy%23z");
  EXPECT_EQ(label_filters({"cacheon.test=1"}),
            "%7B%22label%22%3A%5B%22cacheon.test%3D1%22%5D%7D");
}

}  // namespace
}  // namespace cacheon::runner::docker
