import type { AwsClients } from '../../aws/clients.js'
import { redactUrlPasswords } from './redact.js'
import { shellArg } from './text.js'

export interface SuggestOptions {
  /**
   * The region the suggested command must act in (a function's, from its ARN): named when it is
   * not the default region, or when --region was given. Without it, --region as given.
   */
  region?: string
  /** Another role to act as (another account's key), or null for none; else --role-arn as given. */
  roleArn?: string | null
  /** The case folder: `--case DIR`, last. */
  caseDir?: string
}

/**
 * The AWS flags to repeat in a command fir suggests: --region, --profile, --role-arn and
 * --endpoint-url as this command was given them, so that the suggestion, pasted as printed, acts in
 * the same account, region and endpoint rather than in the default profile's.
 */
export function awsFlagWords(aws: AwsClients, options: SuggestOptions = {}): string[] {
  const given = aws.given
  const region = options.region ?? given.region
  const roleArn = options.roleArn === undefined ? given.roleArn : options.roleArn
  return [
    ...(region !== undefined && (given.region !== undefined || region !== aws.region)
      ? ['--region', region]
      : []),
    ...(given.profile ? ['--profile', given.profile] : []),
    ...(roleArn ? ['--role-arn', roleArn] : []),
    // A password in the endpoint is not repeated (the suggestion is printed, and may be journaled).
    ...(given.endpoint ? ['--endpoint-url', redactUrlPasswords(given.endpoint)] : []),
  ]
}

/**
 * A word of a suggested command the responder must fill in (a value fir may not print): shown bare
 * as `<name>`, never quoted, as fir's placeholders are: pasted unfilled, the shell takes it for a
 * redirection from a file of that name and runs nothing, rather than set the placeholder's text.
 */
export interface Placeholder {
  placeholder: string
}

/** A word of a suggested command: a value (shell-quoted) or a placeholder. */
export type CommandWord = string | Placeholder

const commandWord = (w: CommandWord) => (typeof w === 'string' ? shellArg(w) : `<${w.placeholder}>`)

/**
 * A fir command line to paste: `fir <words> <AWS flags as given> --case DIR`, each word shell-quoted
 * (a placeholder shown bare, see Placeholder).
 */
export function firCommand(words: CommandWord[], aws: AwsClients, options: SuggestOptions = {}): string {
  return [
    'fir',
    ...words,
    ...awsFlagWords(aws, options),
    ...(options.caseDir !== undefined ? ['--case', options.caseDir] : []),
  ]
    .map(commandWord)
    .join(' ')
}

/** An AWS CLI command line with no flag but `--region` (where no command's AWS flags are known). */
export function plainAwsCliCommand(words: CommandWord[], region: string | null | undefined): string {
  return ['aws', ...words, ...(region ? ['--region', region] : [])].map(commandWord).join(' ')
}

/**
 * An AWS CLI command line to paste, with the region, profile and endpoint this command was given
 * (the AWS CLI has the same flags, but no --role-arn: a role fir assumed is named in a comment).
 */
export function awsCliCommand(
  words: CommandWord[],
  aws: AwsClients,
  options: { region?: string } = {},
): string {
  const line = ['aws', ...words, ...awsFlagWords(aws, { ...options, roleArn: null })]
    .map(commandWord)
    .join(' ')
  return aws.given.roleArn ? `${line}  # as ${aws.given.roleArn}` : line
}
