/** The Redis topologies of the tests live with the benchmarks, which use them too. */
export * from "../../bench/redis-topology.js";
