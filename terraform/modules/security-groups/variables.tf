variable "name" {
  description = "Name prefix of the security groups"
  type        = string
}

variable "vpc_id" {
  description = "VPC of the security groups"
  type        = string
}

variable "worker_cidr_blocks" {
  description = "CIDR blocks of the workers (training ranks, batch jobs): the only sources allowed to reach gRPC"
  type        = list(string)

  validation {
    condition     = length(var.worker_cidr_blocks) > 0 && alltrue([for c in var.worker_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "worker_cidr_blocks must be one or more IPv4 CIDR blocks, none of them 0.0.0.0/0."
  }
}

variable "monitoring_cidr_blocks" {
  description = "CIDR blocks of Prometheus and the health checkers: the only sources allowed to reach metrics"
  type        = list(string)

  validation {
    condition     = length(var.monitoring_cidr_blocks) > 0 && alltrue([for c in var.monitoring_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "monitoring_cidr_blocks must be one or more IPv4 CIDR blocks, none of them 0.0.0.0/0."
  }
}

variable "grpc_port" {
  description = "Port of the gRPC API (server.grpc_addr)"
  type        = number
  default     = 50051
}

variable "metrics_port" {
  description = "Port of /metrics, /healthz and /readyz (server.metrics_addr)"
  type        = number
  default     = 9090
}

variable "tags" {
  description = "Tags of every resource"
  type        = map(string)
  default     = {}
}
