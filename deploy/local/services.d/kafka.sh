# shellcheck shell=bash
# kafka: Apache Kafka 4.x in KRaft mode (one combined broker and controller),
# jars from Maven Central through deploy/local/kafka/pom.xml.

kafka_version_wanted() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml"; }
kafka_home() { echo "$CACHE/kafka/$(kafka_version_wanted)"; }

kafka_kind() { echo server; }
kafka_ports() { echo "19092 19093"; }
kafka_installed() { is_marked "$(kafka_home)"; }
kafka_version() { echo "kafka $(kafka_version_wanted)"; }
kafka_addr() { echo "127.0.0.1:19092"; }
kafka_env() { echo "FAIRSTREAM_KAFKA_BROKERS=127.0.0.1:19092"; }

kafka_install() {
  command -v mvn >/dev/null || die "kafka: mvn (Maven) is needed to fetch the Kafka jars from Maven Central"
  command -v java >/dev/null || die "kafka: java (17 or newer) is needed to run Kafka"
  local home stage log
  home=$(kafka_home)
  stage="$home.partial"
  log="$CACHE/kafka/install.log"
  rm -rf "$stage"
  mkdir -p "$stage"
  say "kafka: fetching org.apache.kafka:kafka_2.13:$(kafka_version_wanted) and its dependencies with mvn from Maven Central"
  if ! mvn -B -q -f "$here/kafka/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
      dependency:copy-dependencies -DoutputDirectory="$stage/libs" >"$log" 2>&1; then
    rm -rf "$stage"
    install_failed kafka "org.apache.kafka:kafka_2.13:$(kafka_version_wanted)" "mvn (Maven Central)" "$log"
  fi
  rm -rf "$home"
  mv "$stage" "$home"
  mark_installed "$home" "$(kafka_version_wanted)"
}

kafka_start() {
  local dir data props
  dir=$(svcdir kafka)
  data="$dir/data"
  props="$dir/server.properties"
  mkdir -p "$data"
  sed "s:@DATA_DIR@:$data:" "$here/kafka/server.properties" >"$props"
  local java=(java -Xms256m -Xmx1g -XX:+UseG1GC -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" -cp "$(kafka_home)/libs/*")
  if [ ! -f "$data/meta.properties" ]; then
    say "kafka: formatting the KRaft log in $data"
    "${java[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$("${java[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
      -c "$props" >>"$(logfile kafka)" 2>&1 || { tail_log kafka 20; die "kafka: formatting $data failed"; }
  fi
  spawn kafka "${java[@]}" kafka.Kafka "$props"
}

kafka_health() {
  kcat -b 127.0.0.1:19092 -L -m 3 >/dev/null 2>&1
}
