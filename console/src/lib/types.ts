export interface VersionInfo {
  strategy_id: string;
  version: string;
  status: string;
  digest: string;
  created_at: string | null;
  published_at: string | null;
  created_by: string | null;
  approved_by: string | null;
}

export interface StrategySummary {
  strategy_id: string;
  title: string | null;
  versions: VersionInfo[];
}

export interface CheckResult {
  valid: boolean;
  errors: {
    type: string;
    message: string;
    node?: string;
    field?: string;
    line?: number;
    expression?: string;
    path?: (string | number)[] | null;
  }[];
  warnings: string[];
  inputs?: string[];
  outputs?: string[];
}
