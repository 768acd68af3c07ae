/**
 * How many test files run at once (FIR_TEST_WORKERS, default 3), each worker with its own moto
 * server (global-setup.ts). Three on two cores: a worker spends about a third of its time waiting
 * for the CLI it started or for moto, so two left a core idle; a third filled it (the suite took
 * about 20% less time than with two, on a 2-core host; a fourth gained nothing).
 */
export function testWorkers(): number {
  return Number(process.env.FIR_TEST_WORKERS ?? 3)
}
