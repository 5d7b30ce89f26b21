// A permission set does not make wildcards requirable: a requirement names one exact permission.

mcp_rbac::permissions! {
    pub enum Perm { "Admin.Read", "Admin.Write" }
}

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router(permissions = Perm)]
impl Server {
    #[tool(requires = "Admin.*")]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
