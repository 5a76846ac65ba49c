output "runtime_security_group_id" {
  description = "ID of the runtime's security group"
  value       = aws_security_group.runtime.id
}
