// Prints html/openapi.yaml as JSON, for the Perl tests that read it
// (t/api_fuzz.t): node t/openapi/dump.mjs html/openapi.yaml
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

process.stdout.write(JSON.stringify(YAML.parse(readFileSync(process.argv[2],
                                                            'utf8'))));
